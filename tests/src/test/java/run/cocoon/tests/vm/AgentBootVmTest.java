package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import run.cocoon.testbox.BoxScript;
import run.cocoon.testbox.NestedBox;
import run.cocoon.vmm.VmEnd;

/**
 * The guest image boots in our VMM: the agent's JVM becomes PID 1, sets the guest up, prints its
 * ready marker with the boot phases, and (self-test mode, no vsock needed) powers the VM off.
 * With and without the AOT cache, to measure what it saves. And with a vsock device: a host
 * program reaches the agent through the VMM's hybrid vsock socket and tells it to power off.
 */
@Tag("slow")
@Tag("guest-jvm")
@Timeout(value = 12, unit = TimeUnit.MINUTES)
public class AgentBootVmTest {
  private static final Pattern TIMINGS = Pattern.compile(
      "timings kernel-to-init=(-?\\d+)ms jvm-start=(-?\\d+)ms agent-init=(\\d+)ms ready=(\\d+)ms"
          + " libc-link=(\\d+)ms setup=(\\d+)ms listen=(\\d+)ms vm-info=(\\S+)");
  /** The guest starts a JVM on nested, emulated hardware: tens of seconds, more on a busy host. */
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(8);
  private static Path image;

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
    image = guestImage();
  }

  /** The image guest-agent's package phase built (it writes the path into target/). */
  public static Path guestImage() throws IOException {
    Path pathFile = BoxScript.projectRoot().resolve("guest-image/target/guest-image.path");
    assertTrue(Files.isRegularFile(pathFile),
        pathFile + " is missing: build guest-image (mvn -pl tests -am verify does)");
    Path image = Path.of(Files.readString(pathFile).strip());
    assertTrue(Files.isRegularFile(image), "guest image missing: " + image);
    return image;
  }

  private static NestedBox.Result boot(String... cmdline) throws IOException {
    return GuestRun.scenario("agent").initrd(image).memory("512M").timeout(BOOT_TIMEOUT)
        .cmdline("cocoon.agent.selftest=poweroff", "cocoon.time=" + System.currentTimeMillis())
        .cmdline(cmdline).run();
  }

  private static Matcher timings(NestedBox.Result r) {
    Matcher m = TIMINGS.matcher(r.stdout());
    assertTrue(m.find(), "no timings line:\n" + r.describe());
    System.out.println("phases: kernel to /init " + m.group(1) + " ms, JVM start " + m.group(2)
        + " ms, agent init " + m.group(3) + " ms (libc link " + m.group(5) + ", setup " + m.group(6)
        + ", listen " + m.group(7) + "), ready at " + m.group(4) + " ms (" + m.group(8) + ")");
    return m;
  }

  private static void assertSelfTestPassed(NestedBox.Result r) {
    String report = GuestRun.line(r.stdout(), "cocoon-agent: selftest ");
    assertTrue(report.contains(
        "mounts=/proc,/sys,/dev,/dev/pts,/dev/shm,/tmp,/sys/fs/cgroup "), r.describe());
    assertTrue(report.contains("controllers=cpu,memory,pids "), report);
    assertTrue(report.contains("hostname=cocoon "), report);
    assertTrue(report.contains("owned-exit=7 "), report);
    assertTrue(report.contains("orphans-reaped=1"), report);
    // IFF_UP | IFF_LOOPBACK, as sysfs shows an up lo (IFF_RUNNING is not among these flags).
    assertTrue(report.contains("lo-flags=0x9 "), report);
  }

  @Test
  void theAgentBootsAsPid1WithItsAotCacheAndPowersOff() throws IOException {
    NestedBox.Result r = boot();
    assertTrue(r.stdout().contains("cocoon-agent: ready in "), r.describe());
    assertTrue(r.stdout().contains("cocoon-agent: powering off: self-test done"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertSelfTestPassed(r);
    assertTrue(timings(r).group(8).contains("sharing"), "the AOT cache was not used");
  }

  @Test
  void withoutTheAotCacheTheAgentStillBoots() throws IOException {
    NestedBox.Result r = boot("cocoon.agent.aot=off");
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertSelfTestPassed(r);
    assertTrue(!timings(r).group(8).contains("sharing"), "class data sharing was on");
  }

  @Test
  void theHostReachesTheAgentOverVsockAndShutsTheGuestDown() throws IOException {
    String dir = "/tmp/cocoon-agent-vsock-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    String uds = dir + "/v.sock";
    String client = GuestRun.quote(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        AgentVsockClient.class.getName(), uds));
    String prefix = "mkdir -p " + dir + "; " + client + " >" + dir + "/client.log 2>&1 & client=$!; ";
    // Once the VM has ended, a client still trying to connect has nothing left to reach.
    String suffix = "; status=$?; kill $client 2>/dev/null; wait; cat " + dir + "/client.log; "
        + "rm -rf " + dir + "; exit $status";
    NestedBox.Result r = GuestRun.scenario("agent").initrd(image).memory("512M")
        .timeout(BOOT_TIMEOUT).cmdline("cocoon.time=" + System.currentTimeMillis())
        .flags("--vsock", "3," + uds).shell(prefix, suffix).run();
    assertTrue(r.stdout().contains("AGENT-VSOCK welcome"), r.describe());
    assertTrue(r.stdout().contains("AGENT-VSOCK containers=0"), r.describe());
    assertTrue(r.stdout().contains("AGENT-VSOCK shutdown=ok"), r.describe());
    assertTrue(r.stdout().contains("cocoon-agent: powering off: server finished"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    timings(r);
  }
}

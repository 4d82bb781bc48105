package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.Tag;
import run.cocoon.testbox.NestedBox;

/**
 * VM mode end to end: our VMM boots the guest image, the agent (PID 1) takes requests over
 * vsock, and containers from a busybox rootfs disk run in the guest with the same container
 * library as on the host: output and exit status 3 reach the host, an exec runs beside the
 * container, SIGTERM is delivered, a memory limit breach is reported as OOM-killed, and a
 * hostile mount is refused.
 */
@Tag("slow")
@Tag("guest-jvm")
@Timeout(value = 14, unit = TimeUnit.MINUTES)
class AgentContainerVmTest {
  /** A JVM boots inside an emulated nested guest: minutes on a busy host. */
  private static final Duration TIMEOUT = Duration.ofMinutes(12);

  private static String value(String stdout, String key) {
    return GuestRun.value(stdout, AgentScenario.MARK, key);
  }

  @Test
  void containersRunInTheGuestThroughTheAgent() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
    Path image = AgentBootVmTest.guestImage();
    NestedBox.Result r = GuestRun.javaMain(AgentScenario.class, image, "/tmp/agent-e2e", TIMEOUT);
    System.out.println(r.describe());
    String out = r.stdout();
    assertEquals("yes", value(out, "done"), r.describe());
    assertEquals("hi", value(out, "c1-out"));
    assertEquals("3", value(out, "c1-exit"));
    assertEquals("5", value(out, "exec-exit"));
    assertEquals("exec-ok", value(out, "exec-out"));
    assertEquals("143", value(out, "c2-exit"));
    assertEquals("got-term", value(out, "c2-out"));
    assertEquals("true", value(out, "oom"));
    assertEquals("INVALID", value(out, "hostile"));
    // c1 is still listed: it has exited, and goes with the VM when its VmContainer closes.
    assertEquals("1", value(out, "left"));
    System.out.println("VM-mode phases: " + value(out, "timing"));
    assertEquals(0, r.exitCode(), r.describe());
  }
}

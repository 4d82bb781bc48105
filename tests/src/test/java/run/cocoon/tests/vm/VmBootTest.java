package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.BoxScript;
import run.cocoon.testbox.NestedBox;
import run.cocoon.testbox.VmTestHost;
import run.cocoon.vmm.VmEnd;

/**
 * Our VMM boots our kernel with a busybox initramfs, on real KVM: directly on hardware
 * virtualization, else inside the nested test box. Each scenario is one {@code cocoon vm boot}.
 */
@Tag("slow")
class VmBootTest {
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(4);
  private static final String CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off";
  /** Console flood on hardware virtualization: 16 MiB, far beyond the 64 KiB console buffer. */
  private static final long FLOOD_BYTES = 16L << 20;
  /** In the nested box an exit costs ~100x more; 512 KiB is still 8x the buffer. */
  private static final long FLOOD_BYTES_IN_BOX = 512L << 10;
  private static VmTestHost host;
  private static Path kernelDir;
  private static Path initramfs;

  @BeforeAll
  static void setUp() throws IOException {
    kernelDir = GuestKernel.directory();
    assumeTrue(kernelDir != null, () -> "no guest kernel: " + GuestKernel.failure());
    assumeTrue(Files.isExecutable(TestInitramfs.BUSYBOX),
        "busybox-static is not installed (apt-get install busybox-static)");
    Path work = BoxScript.projectRoot().resolve("tests/target/vm-boot");
    Files.createDirectories(work);
    initramfs = TestInitramfs.write(work.resolve("initramfs.cpio"));
    host = VmTestHost.get();
  }

  /** The cocoon CLI on this JVM's class path, run where VM tests run. */
  private static NestedBox.Result boot(String kernel, String scenario, int cpus, String shellSuffix)
      throws IOException {
    return boot(kernel, scenario, cpus, shellSuffix, "");
  }

  private static NestedBox.Result boot(String kernel, String scenario, int cpus, String shellSuffix,
      String shellPrefix) throws IOException {
    List<String> java = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny",
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"),
        "run.cocoon.shim.cli.Main", "vm", "boot",
        "--kernel", kernelDir.resolve(kernel).toString(),
        "--initrd", initramfs.toString(),
        "--cmdline", CMDLINE + " cocoon.test=" + scenario,
        "--cpus", Integer.toString(cpus), "--memory", "256M", "--no-stdin"));
    List<String> command = shellSuffix == null ? java
        : List.of("bash", "-c", shellPrefix + quote(java) + " " + shellSuffix);
    NestedBox.Result r = host.run(command, BOOT_TIMEOUT);
    System.out.println("[" + scenario + ", " + kernel + ", " + cpus + " vCPU] exit " + r.exitCode()
        + " in " + r.elapsed().toMillis() + " ms\n" + tail(r.stdout()) + "\n" + tail(r.stderr()));
    return r;
  }

  private static String quote(List<String> words) {
    StringBuilder b = new StringBuilder();
    for (String w : words) {
      b.append('\'').append(w.replace("'", "'\\''")).append("' ");
    }
    return b.toString();
  }

  private static String tail(String s) {
    return s.length() <= 3000 ? s : "..." + s.substring(s.length() - 3000);
  }

  private static String markerLine(String stdout) {
    return stdout.lines().filter(l -> l.startsWith(TestInitramfs.MARKER)).findFirst().orElse("");
  }

  @Test
  void pvhBootReachesInitAndPowersOff() throws IOException {
    NestedBox.Result r = boot("vmlinux", "poweroff", 1, null);
    assertTrue(markerLine(r.stdout()).contains("scenario=poweroff"), r.describe());
    assertTrue(markerLine(r.stdout()).contains("cpus-online=0 "), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertTrue(r.stderr().contains("VM powered off"), r.describe());
  }

  @Test
  void bzImageBootsThroughTheLinux64BitProtocol() throws IOException {
    NestedBox.Result r = boot("bzImage", "poweroff", 1, null);
    assertTrue(markerLine(r.stdout()).contains("scenario=poweroff"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }

  @Test
  void twoVcpusAreBothOnline() throws IOException {
    NestedBox.Result r = boot("vmlinux", "poweroff", 2, null);
    String marker = markerLine(r.stdout());
    assertTrue(marker.contains("cpus-online=0-1 ") && marker.contains("nproc=2"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }

  @Test
  void rebootEndsTheVmWithTheRebootStatus() throws IOException {
    NestedBox.Result r = boot("vmlinux", "reboot", 1, null);
    assertTrue(markerLine(r.stdout()).contains("scenario=reboot"), r.describe());
    assertEquals(VmEnd.EXIT_REBOOTED, r.exitCode(), r.describe());
  }

  @Test
  void panickingInitEndsTheVmWithTheCrashStatus() throws IOException {
    NestedBox.Result r = boot("vmlinux", "panic", 1, null);
    assertTrue(r.stdout().contains("Kernel panic"), r.describe());
    assertEquals(VmEnd.EXIT_CRASHED, r.exitCode(), r.describe());
    assertTrue(r.stderr().contains("guest kernel panic"), r.describe());
  }

  @Test
  void aFloodedConsoleThatNobodyReadsNeitherBlocksTheGuestNorGrowsTheHost() throws IOException {
    // Every console byte is one vCPU exit, so the flood is sized to take seconds, not hours:
    // FLOOD_BYTES on hardware virtualization, less in the (much slower) nested box. The reader
    // takes 64 KiB, then stops reading without closing the pipe; the VMM must drop what does not
    // fit its bounded buffer while the guest runs on and powers off.
    long flood = host.direct() ? FLOOD_BYTES : FLOOD_BYTES_IN_BOX;
    NestedBox.Result r = boot("vmlinux", "flood cocoon.flood=" + flood, 1,
        "> \"$fifo\"; status=$?; kill $reader 2>/dev/null; rm -f \"$fifo\"; exit $status",
        "fifo=$(mktemp -u); mkfifo \"$fifo\"; "
            + "{ head -c 65536 >/dev/null; sleep 600; } < \"$fifo\" & reader=$!; ");
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertTrue(r.stderr().contains("console bytes dropped"), r.describe());
  }
}

package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.NestedBox;
import run.cocoon.testbox.VmTestHost;
import run.cocoon.vmm.VmEnd;

/**
 * Our VMM boots our kernel with a busybox initramfs, on real KVM: directly on hardware
 * virtualization, else inside the nested test box. Each scenario is one {@code cocoon vm boot}.
 */
@Tag("slow")
class VmBootTest {
  /** Console flood on hardware virtualization: 16 MiB, far beyond the 64 KiB console buffer. */
  private static final long FLOOD_BYTES = 16L << 20;
  /**
   * In the nested box an exit costs ~100x more, and a long storm of console exits and interrupts
   * is where its L2 guests fail most (docs/test-box.md). 256 KiB still overflows everything that
   * can hold the flood: the reader's 64 KiB, the pipe's 64 KiB and the 64 KiB console buffer.
   */
  private static final long FLOOD_BYTES_IN_BOX = 256L << 10;

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
  }

  private static NestedBox.Result boot(String kernel, String scenario, int cpus) throws IOException {
    return GuestRun.scenario(scenario).kernel(kernel).cpus(cpus).run();
  }

  private static String markerLine(String stdout) {
    return GuestRun.markerLine(stdout);
  }

  @Test
  void pvhBootReachesInitAndPowersOff() throws IOException {
    NestedBox.Result r = boot("vmlinux", "poweroff", 1);
    assertTrue(markerLine(r.stdout()).contains("scenario=poweroff"), r.describe());
    assertTrue(markerLine(r.stdout()).contains("cpus-online=0 "), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertTrue(r.stderr().contains("VM powered off"), r.describe());
  }

  @Test
  void bzImageBootsThroughTheLinux64BitProtocol() throws IOException {
    NestedBox.Result r = boot("bzImage", "poweroff", 1);
    assertTrue(markerLine(r.stdout()).contains("scenario=poweroff"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }

  @Test
  void twoVcpusAreBothOnline() throws IOException {
    NestedBox.Result r = boot("vmlinux", "poweroff", 2);
    String marker = markerLine(r.stdout());
    assertTrue(marker.contains("cpus-online=0-1 ") && marker.contains("nproc=2"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }

  @Test
  void rebootEndsTheVmWithTheRebootStatus() throws IOException {
    NestedBox.Result r = boot("vmlinux", "reboot", 1);
    assertTrue(markerLine(r.stdout()).contains("scenario=reboot"), r.describe());
    assertEquals(VmEnd.EXIT_REBOOTED, r.exitCode(), r.describe());
  }

  @Test
  void panickingInitEndsTheVmWithTheCrashStatus() throws IOException {
    NestedBox.Result r = boot("vmlinux", "panic", 1);
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
    long flood = VmTestHost.get().direct() ? FLOOD_BYTES : FLOOD_BYTES_IN_BOX;
    NestedBox.Result r = GuestRun.scenario("flood").cmdline("cocoon.flood=" + flood)
        .shell("fifo=$(mktemp -u); mkfifo \"$fifo\"; "
                + "{ head -c 65536 >/dev/null; sleep 600; } < \"$fifo\" & reader=$!; ",
            "> \"$fifo\"; status=$?; kill $reader 2>/dev/null; rm -f \"$fifo\"; exit $status")
        .run();
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertTrue(r.stderr().contains("console bytes dropped"), r.describe());
  }
}

package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.NestedBox;
import run.cocoon.vmm.VmEnd;

/**
 * virtio-rng end to end, which also proves the virtio-mmio wiring (DSDT or command-line
 * announcement, ioeventfd notifications, irqfd interrupts) with a real Linux driver.
 */
@Tag("slow")
class VirtioRngVmTest {
  private static final Pattern RNG = Pattern.compile(
      "rng-current=(\\S+) bytes=(\\d+) distinct=(\\d+)");

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
  }

  private static void assertRandomBytesArrived(NestedBox.Result r) {
    Matcher m = RNG.matcher(GuestRun.line(r.stdout(), TestInitramfs.MARKER + " rng-current="));
    assertTrue(m.find(), r.describe());
    assertTrue(m.group(1).startsWith("virtio_rng"), "bound RNG: " + m.group(1));
    assertEquals(4096, Integer.parseInt(m.group(2)), r.describe());
    // 4096 random bytes hit nearly all 256 values; a stuck or zero source hits a handful.
    assertTrue(Integer.parseInt(m.group(3)) > 200, "distinct byte values: " + m.group(3));
  }

  @Test
  void theGuestReadsEntropyFromADsdtAnnouncedDevice() throws IOException {
    NestedBox.Result r = GuestRun.scenario("rng").flags("--rng").run();
    assertRandomBytesArrived(r);
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }

  @Test
  void withoutAcpiTheDeviceIsAnnouncedOnTheCommandLine() throws IOException {
    NestedBox.Result r = GuestRun.scenario("rng").cmdline("acpi=off").flags("--rng").run();
    assertTrue(r.stdout().contains("virtio_mmio.device=4K@0xd0000000:5"), r.describe());
    assertRandomBytesArrived(r);
    assertEquals(VmEnd.EXIT_REBOOTED, r.exitCode(), r.describe());
  }
}

package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.NestedBox;
import run.cocoon.testbox.VmTestHost;
import run.cocoon.vmm.VmEnd;

/**
 * virtio-vsock end to end with Linux's virtio_vsock driver and Firecracker's hybrid vsock on the
 * host: a host program reaches a guest listener through the Unix socket ({@code CONNECT 1234})
 * and moves data both ways with SHA-256 digests compared, and the guest connects out to a host
 * listener on {@code <uds>_5000}. Both ends are {@code vsock-test} (tests/src/test/native).
 *
 * <p>Size per direction: 100 MB on hardware virtualization; in the nested box, where the JVM and
 * L1 run under TCG, {@link #BOX_BYTES}: measured there at 0.6-0.7 MB/s each way, 100 MB would take
 * about five minutes, 16 MB takes under a minute. Override with {@code -Dcocoon.vsock.bytes=N}.
 */
@Tag("slow")
class VirtioVsockVmTest {
  static final long DIRECT_BYTES = 100_000_000L;
  static final long BOX_BYTES = 16_000_000L;
  private static final Pattern TRANSFER = Pattern.compile(
      "vsock-test: (send|recv) bytes=(\\d+) via=unix sha256=(\\w+) peer-sha256=(\\w+) "
          + "seconds=([\\d.]+) MBps=([\\d.]+) (match|MISMATCH)");

  private static String tool;

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
    assumeTrue(GuestTools.tool("vsock-test") != null, "vsock-test not built: " + GuestTools.failure());
    tool = GuestTools.tool("vsock-test").toString();
  }

  @Test
  void dataFlowsBothWaysThroughTheUnixSocketAndTheGuestConnectsOut() throws IOException {
    long bytes = Long.getLong("cocoon.vsock.bytes",
        VmTestHost.get().direct() ? DIRECT_BYTES : BOX_BYTES);
    String dir = "/tmp/cocoon-vsock-e2e-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    String uds = dir + "/v.sock";
    String t = GuestRun.quote(List.of(tool));
    // Host side, started before the VMM: a listener for the guest's outgoing connection, and a
    // client that waits for the guest's listener, then receives and sends `bytes`.
    String prefix = "mkdir -p " + dir + "; "
        + t + " uds-listen " + uds + "_5000 1 >" + dir + "/listen.log 2>&1 & "
        + "( " + t + " uds-connect " + uds + " 1234 recv " + bytes + "; "
        + t + " uds-connect " + uds + " 1234 send " + bytes + " ) >" + dir + "/client.log 2>&1 & ";
    String suffix = "; status=$?; wait; cat " + dir + "/client.log " + dir + "/listen.log; "
        + "rm -rf " + dir + "; exit $status";
    NestedBox.Result r = GuestRun.scenario("vsock").memory("512M")
        .flags("--vsock", "3," + uds).shell(prefix, suffix).run();

    String out = r.stdout();
    for (String direction : List.of("recv", "send")) {
      Matcher m = TRANSFER.matcher(out.lines()
          .filter(l -> l.startsWith("vsock-test: " + direction + " ")).findFirst().orElse(""));
      assertTrue(m.find(), direction + " result missing\n" + r.describe());
      assertEquals(bytes, Long.parseLong(m.group(2)), r.describe());
      assertEquals(m.group(3), m.group(4), direction + " digests differ");
      assertEquals("match", m.group(7));
      System.out.println("vsock " + (direction.equals("recv") ? "guest->host" : "host->guest")
          + ": " + bytes + " bytes in " + m.group(5) + " s, " + m.group(6) + " MB/s ("
          + VmTestHost.get().describe() + ")");
    }
    assertTrue(GuestRun.line(out, TestInitramfs.MARKER + " vsock-out")
        .contains("reply=hello-from-guest"), r.describe());
    assertTrue(out.contains(TestInitramfs.MARKER + " vsock-served=0"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }
}

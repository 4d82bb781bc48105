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
 * virtio-net end to end: a TAP with 172.30.0.1/30 on the VM's host (L1 in the nested box), our
 * VMM booted with {@code --net}, Linux's virtio_net driver in the guest. The guest pings the host
 * and swaps about 200 KB each way with it over TCP (several segments, so segmentation and checksum
 * offloads are in play); the TAP is deleted afterwards.
 */
@Tag("slow")
class VirtioNetVmTest {
  private static final String TAP = "cocoontap0";
  private static final String MAC = "52:54:00:c0:c0:01";
  private static final Pattern HOST = Pattern.compile(
      "HOST from-guest=(\\w+) expected=(\\w+) to-guest=(\\w+)");
  private static final Pattern FEATURES = Pattern.compile("features=([01]{64})");
  private static final Pattern DOWN = Pattern.compile("net-tcp-down=(\\w+) bytes=(\\d+)");

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
  }

  @Test
  void theGuestPingsTheHostAndTalksTcpOverATap() throws IOException {
    // The host side: the TAP, an address, and a one-shot TCP peer that sends 30000..1 and keeps
    // what it gets. After the VM, the peer's results, then the TAP goes.
    String prefix = String.join("\n",
        "set -e",
        "ip tuntap add dev " + TAP + " mode tap",
        "ip addr add 172.30.0.1/30 dev " + TAP,
        "ip link set " + TAP + " up",
        "seq 30000 -1 1 >/tmp/to-guest",
        "busybox nc -l -p 7777 </tmp/to-guest >/tmp/from-guest &",
        "peer=$!",
        "set +e",
        "");
    String suffix = String.join("\n",
        "",
        "rc=$?",
        "kill $peer 2>/dev/null",
        "echo \"HOST from-guest=$(sha256sum </tmp/from-guest | cut -c1-64)"
            + " expected=$(seq 1 30000 | sha256sum | cut -c1-64)"
            + " to-guest=$(sha256sum </tmp/to-guest | cut -c1-64)\"",
        "ip link del " + TAP + " && echo \"HOST tap-removed\"",
        "exit $rc");
    NestedBox.Result r = GuestRun.scenario("net").flags("--net", TAP + ",mac=" + MAC)
        .shell(prefix, suffix).run();

    String out = r.stdout();
    String nic = GuestRun.line(out, TestInitramfs.MARKER + " net-mac=");
    assertTrue(nic.contains("net-mac=" + MAC + " driver=virtio_net"), r.describe());
    // The driver took every offload and merged receive buffers (one character per feature bit).
    Matcher features = FEATURES.matcher(nic);
    assertTrue(features.find(), r.describe());
    for (int bit : new int[] {0, 1, 5, 7, 8, 10, 11, 12, 14, 15}) {
      assertEquals('1', features.group(1).charAt(bit), "feature bit " + bit + " in " + nic);
    }
    assertTrue(out.contains(TestInitramfs.MARKER + " net-ping=ok"), r.describe());
    Matcher down = DOWN.matcher(GuestRun.line(out, TestInitramfs.MARKER + " net-tcp-down="));
    assertTrue(down.find(), r.describe());
    Matcher host = HOST.matcher(out);
    assertTrue(host.find(), r.describe());
    assertEquals(host.group(3), down.group(1), "the guest got what the host sent");
    assertEquals(host.group(2), host.group(1), "the host got what the guest sent");
    assertTrue(out.contains("HOST tap-removed"), r.describe());
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
  }
}

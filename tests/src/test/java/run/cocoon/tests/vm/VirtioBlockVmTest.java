package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.NestedBox;
import run.cocoon.vmm.VmEnd;

/**
 * virtio-blk end to end: ext4 images made on the host with mkfs.ext4, mounted and written by a
 * Linux guest, read back on the host with debugfs once the VMM is gone.
 *
 * <p>Everything a case does with image files happens in one shell next to the VMM (where VM tests
 * run: this host, or the nested box, whose view of the checkout is read-only): make the images in
 * a fresh directory under /tmp, boot, then print what debugfs and md5sum find, and remove the
 * directory. The test reads those lines.
 */
@Tag("slow")
class VirtioBlockVmTest {
  /** What the guest writes: the numbers 1 to 30000, one per line (about 170 KiB). */
  private static final String SEQ = "seq 1 30000";
  private static final String HOST_TEXT = "written-by-the-host";

  @BeforeAll
  static void setUp() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
  }

  /** A scratch directory for one case; the shell creates and removes it. */
  private static String scratch() {
    return "/tmp/cocoon-blk-" + UUID.randomUUID();
  }

  /** Shell text that makes a sparse ext4 image {@code image} holding from-host.txt. */
  private static String makeImage(String dir, String image) {
    return "mkdir -p " + dir + "/src && echo " + HOST_TEXT + " > " + dir + "/src/from-host.txt"
        + " && truncate -s 64M " + image + " && /sbin/mkfs.ext4 -q -F -d " + dir + "/src " + image
        + " && ";
  }

  /** Shell text printing {@code label}=the md5 of file {@code path} inside {@code image}. */
  private static String md5Of(String label, String image, String path) {
    return "echo " + label + "=$(/sbin/debugfs -R 'cat " + path + "' " + image
        + " 2>/dev/null | md5sum | cut -d' ' -f1); ";
  }

  private static String value(NestedBox.Result r, String key) {
    return r.stdout().lines().filter(l -> l.startsWith(key + "=")).map(l -> l.substring(key.length() + 1))
        .findFirst().orElseThrow(() -> new AssertionError("no " + key + "= line\n" + r.describe()));
  }

  private static String guestLine(NestedBox.Result r, String prefix) {
    String line = GuestRun.line(r.stdout(), TestInitramfs.MARKER + " " + prefix);
    assertTrue(!line.isEmpty(), "guest printed no '" + prefix + "' line\n" + r.describe());
    return line;
  }

  @Test
  void theGuestReadsAndWritesAnExt4DiskThatTheHostReadsBack() throws IOException {
    String d = scratch();
    String image = d + "/disk.img";
    NestedBox.Result r = GuestRun.scenario("blk-write")
        .flags("--disk", image + ",serial=data-1")
        .shell(makeImage(d, image),
            "; rc=$?; " + md5Of("seq", image, "/seq.txt") + md5Of("hello", image, "/hello.txt")
                + "echo expected-seq=$(" + SEQ + " | md5sum | cut -d' ' -f1); "
                + "echo expected-hello=$(echo guest-wrote-this | md5sum | cut -d' ' -f1); "
                + "rm -rf " + d + "; exit $rc")
        .run();
    assertTrue(guestLine(r, "blk-read=").endsWith("blk-read=" + HOST_TEXT), r.describe());
    guestLine(r, "blk-written");
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertEquals(value(r, "expected-seq"), value(r, "seq"), "the guest's file on the host");
    assertEquals(value(r, "expected-hello"), value(r, "hello"));
  }

  // Hostile input #21: data a FLUSH acknowledged survives the VMM being killed.
  @Test
  void dataTheGuestSyncedSurvivesSigkillOfTheVmm() throws IOException {
    String d = scratch();
    String image = d + "/disk.img";
    NestedBox.Result r = GuestRun.scenario("blk-kill")
        .flags("--disk", image)
        .shell(makeImage(d, image),
            "> " + d + "/out 2>&1 & pid=$!; "
                + "for i in $(seq 1 2400); do grep -q '" + TestInitramfs.MARKER + " blk-synced' "
                + d + "/out && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done; "
                + "kill -9 $pid; wait $pid; echo vmm-status=$?; cat " + d + "/out; "
                // What the next mount would do: replay the journal, then look.
                + "/sbin/e2fsck -fy " + image + " >/dev/null 2>&1; echo fsck=$?; "
                + md5Of("seq", image, "/seq.txt")
                + "echo expected-seq=$(" + SEQ + " | md5sum | cut -d' ' -f1); "
                + "rm -rf " + d)
        .run();
    guestLine(r, "blk-synced");
    assertEquals("137", value(r, "vmm-status"), "the VMM died of SIGKILL\n" + r.describe());
    assertTrue(Integer.parseInt(value(r, "fsck")) <= 1, "fsck fixed nothing but the journal: "
        + value(r, "fsck"));
    assertEquals(value(r, "expected-seq"), value(r, "seq"), "synced data after SIGKILL");
  }

  @Test
  void aReadOnlyDiskCanBeReadButNotWritten() throws IOException {
    String d = scratch();
    String image = d + "/ro.img";
    NestedBox.Result r = GuestRun.scenario("blk-ro")
        .flags("--disk", image + ",ro")
        .shell(makeImage(d, image) + "echo before=$(md5sum < " + image + " | cut -d' ' -f1); ",
            "; rc=$?; echo after=$(md5sum < " + image + " | cut -d' ' -f1); rm -rf " + d
                + "; exit $rc")
        .run();
    String read = guestLine(r, "blk-ro read=");
    assertTrue(read.contains("read=" + HOST_TEXT + " "), read);
    assertTrue(read.endsWith("sysfs-ro=1"), read);
    String writes = guestLine(r, "blk-ro touch=");
    for (String attempt : new String[] {"touch", "remount", "dd"}) {
      assertTrue(!writes.contains(attempt + "=0"), attempt + " must fail: " + writes);
    }
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertEquals(value(r, "before"), value(r, "after"), "the read-only image is unchanged");
  }

  @Test
  void twoDisksAreTwoIndependentDevices() throws IOException {
    String d = scratch();
    String a = d + "/a.img";
    String b = d + "/b.img";
    NestedBox.Result r = GuestRun.scenario("blk-two")
        .flags("--disk", a + ",serial=disk-a", "--disk", b + ",serial=disk-b")
        .shell(makeImage(d, a) + makeImage(d, b),
            "; rc=$?; echo a=$(/sbin/debugfs -R 'cat /who.txt' " + a + " 2>/dev/null); "
                + "echo b=$(/sbin/debugfs -R 'cat /who.txt' " + b + " 2>/dev/null); "
                + "rm -rf " + d + "; exit $rc")
        .run();
    String first = guestLine(r, "blk-two vda=");
    String second = guestLine(r, "blk-two vdb=");
    assertTrue(first.endsWith("=disk-a") && second.endsWith("=disk-b")
        || first.endsWith("=disk-b") && second.endsWith("=disk-a"), first + " / " + second);
    assertEquals(VmEnd.EXIT_POWERED_OFF, r.exitCode(), r.describe());
    assertEquals("disk-a", value(r, "a"), "each guest write landed in its own image");
    assertEquals("disk-b", value(r, "b"));
  }
}

package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerUnpackerTest {
  @TempDir Path tmp;
  Path target;
  Path outside;

  @BeforeEach
  void setUp() throws IOException {
    target = Files.createDirectory(tmp.resolve("rootfs"));
    outside = Files.createDirectory(tmp.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "keep me");
  }

  private LayerUnpacker unpack(byte[]... layers) throws IOException {
    LayerUnpacker u = new LayerUnpacker(target, LayerUnpacker.Options.forCurrentUser());
    for (byte[] l : layers) {
      u.apply(new ByteArrayInputStream(l), null, null);
    }
    u.finish();
    return u;
  }

  /** The hostile layer is refused and nothing appeared outside the target. */
  private void assertRefused(byte[] layer, String messagePart) throws IOException {
    ImageException e = assertThrows(ImageException.class, () -> unpack(layer));
    assertEquals(ImageException.Kind.BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    assertOutsideUntouched();
  }

  private void assertOutsideUntouched() throws IOException {
    try (Stream<Path> s = Files.list(outside)) {
      assertEquals(List.of(outside.resolve("secret")), s.toList());
    }
    assertEquals("keep me", Files.readString(outside.resolve("secret")));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(2, s.count(), "nothing next to the target");
    }
  }

  @Test
  void unpacksFilesDirsLinksAndModes() throws IOException {
    byte[] l =
        new TestImages.Tar()
            .dir("./usr", 0755)
            .dir("usr/bin", 0555)
            .file("usr/bin/tool", "x".getBytes(), 04755)
            .symlink("bin", "usr/bin")
            .symlink("usr/bin/abs", "/etc/passwd")
            .hardlink("usr/bin/tool2", "usr/bin/tool")
            .file("etc/deep/implicit", "parents created")
            .bytes();
    unpack(l);
    Path tool = target.resolve("usr/bin/tool");
    assertEquals("x", Files.readString(tool));
    assertEquals(04755, (int) Files.getAttribute(tool, "unix:mode") & 07777);
    assertEquals(0555, (int) Files.getAttribute(target.resolve("usr/bin"), "unix:mode") & 07777);
    assertEquals(Path.of("usr/bin"), Files.readSymbolicLink(target.resolve("bin")));
    assertEquals(Path.of("/etc/passwd"), Files.readSymbolicLink(target.resolve("usr/bin/abs")));
    assertEquals(
        Files.getAttribute(tool, "unix:ino"), Files.getAttribute(target.resolve("usr/bin/tool2"), "unix:ino"));
    assertEquals("parents created", Files.readString(target.resolve("etc/deep/implicit")));
  }

  @Test
  void whiteoutsAndOpaqueDirectories() throws IOException {
    byte[] lower =
        new TestImages.Tar()
            .file("a/old1", "1").file("a/old2", "2").file("b/gone", "g").file("c/stays", "s")
            .file("top", "t").bytes();
    byte[] upper =
        new TestImages.Tar()
            .file("a/new", "n")
            .file("a/.wh..wh..opq", "")
            .file("b/.wh.gone", "")
            .file(".wh.top", "")
            .file(".wh.never-existed", "")
            .file("no/such/dir/.wh.x", "")
            .bytes();
    unpack(lower, upper);
    assertTrue(Files.exists(target.resolve("a/new")), "this layer's entry survives the opaque marker");
    assertFalse(Files.exists(target.resolve("a/old1")));
    assertFalse(Files.exists(target.resolve("a/old2")));
    assertFalse(Files.exists(target.resolve("b/gone")));
    assertTrue(Files.isDirectory(target.resolve("b")));
    assertFalse(Files.exists(target.resolve("top")));
    assertTrue(Files.exists(target.resolve("c/stays")));
    assertFalse(Files.exists(target.resolve("no")), "a whiteout creates no directories");
    try (Stream<Path> s = Files.walk(target)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".wh.")), "no whiteout files left");
    }
  }

  @Test
  void laterLayerReplacesTypes() throws IOException {
    byte[] lower = new TestImages.Tar().symlink("x", "/tmp").file("d/f", "f").file("y", "file").bytes();
    byte[] upper = new TestImages.Tar().dir("x", 0755).file("x/in", "ok").file("d", "now a file").symlink("y", "x").bytes();
    unpack(lower, upper);
    assertTrue(Files.isDirectory(target.resolve("x"), LinkOption.NOFOLLOW_LINKS));
    assertEquals("ok", Files.readString(target.resolve("x/in")));
    assertEquals("now a file", Files.readString(target.resolve("d")));
    assertTrue(Files.isSymbolicLink(target.resolve("y")));
  }

  @Test
  void refusesDotDot() throws IOException {
    assertRefused(new TestImages.Tar().file("../outside/evil", "x").bytes(), "..");
    assertRefused(new TestImages.Tar().file("a/../../outside/evil", "x").bytes(), "..");
  }

  @Test
  void refusesAbsoluteNames() throws IOException {
    assertRefused(new TestImages.Tar().file(outside.resolve("evil").toString(), "x").bytes(), "absolute");
  }

  @Test
  void refusesWritingThroughASymlink() throws IOException {
    byte[] l =
        new TestImages.Tar()
            .symlink("escape", outside.toString())
            .file("escape/evil", "x")
            .bytes();
    assertRefused(l, "symlink");
    // The same split across two layers.
    Fs.deleteTree(target);
    Files.createDirectory(target);
    byte[] l1 = new TestImages.Tar().symlink("escape", "../outside").bytes();
    byte[] l2 = new TestImages.Tar().file("escape/secret", "overwritten").bytes();
    assertThrows(ImageException.class, () -> unpack(l1, l2));
    assertOutsideUntouched();
  }

  @Test
  void replacingASymlinkNeverWritesThroughIt() throws IOException {
    byte[] l1 = new TestImages.Tar().symlink("link", outside.resolve("secret").toString()).bytes();
    byte[] l2 = new TestImages.Tar().file("link", "replaced").bytes();
    unpack(l1, l2);
    assertEquals("replaced", Files.readString(target.resolve("link"), java.nio.charset.StandardCharsets.UTF_8));
    assertFalse(Files.isSymbolicLink(target.resolve("link")));
    assertOutsideUntouched();
  }

  @Test
  void refusesHardLinksOutside() throws IOException {
    assertRefused(new TestImages.Tar().hardlink("h", "../outside/secret").bytes(), "..");
    assertRefused(new TestImages.Tar().hardlink("h", outside.resolve("secret").toString()).bytes(), "absolute");
    byte[] viaSymlink =
        new TestImages.Tar().symlink("s", outside.toString()).hardlink("h", "s/secret").bytes();
    assertRefused(viaSymlink, "symlink");
    assertRefused(new TestImages.Tar().hardlink("h", "missing").bytes(), "not in the image");
  }

  @Test
  void hardLinkedFileIsReplacedNotWrittenInPlace() throws IOException {
    byte[] l1 = new TestImages.Tar().file("orig", "original").hardlink("alias", "orig").bytes();
    byte[] l2 = new TestImages.Tar().file("alias", "changed").bytes();
    unpack(l1, l2);
    assertEquals("original", Files.readString(target.resolve("orig")));
    assertEquals("changed", Files.readString(target.resolve("alias")));
  }

  @Test
  void refusesHugeDeclaredSizes() throws IOException {
    TarArchiveEntry e = new TarArchiveEntry("big", TarConstants.LF_NORMAL, true);
    e.setSize(ImageLimits.MAX_UNPACKED_BYTES + 1);
    // Header only: the body is never read because the size is refused first.
    byte[] header = headerOnly(e);
    assertRefused(header, "declares");
  }

  /** One header with a base-256 size field, no body: what a hostile writer can send cheaply. */
  private static byte[] headerOnly(TarArchiveEntry e) throws IOException {
    byte[] block = new byte[512 * 3];
    e.writeEntryHeader(
        block, org.apache.commons.compress.archivers.zip.ZipEncodingHelper.getZipEncoding("UTF-8"), true);
    return block;
  }

  @Test
  void refusesOverlongNames() throws IOException {
    String longName = "d/".repeat(10) + "x".repeat(ImageLimits.MAX_ENTRY_NAME_BYTES);
    assertRefused(new TestImages.Tar().file(longName, "x").bytes(), "longer than");
    String longComponent = "y".repeat(ImageLimits.MAX_NAME_COMPONENT_BYTES + 1);
    assertRefused(new TestImages.Tar().file(longComponent, "x").bytes(), "component");
    String deep = "a/".repeat(ImageLimits.MAX_PATH_DEPTH + 1) + "f";
    assertRefused(new TestImages.Tar().file(deep, "x").bytes(), "deeper");
  }

  @Test
  void refusesNulAndMalformedWhiteouts() throws IOException {
    // Long enough to travel in a PAX header, where a NUL survives.
    assertRefused(new TestImages.Tar().file("n".repeat(120) + "\0b", "x").bytes(), "NUL");
    assertRefused(new TestImages.Tar().file("dir/.wh..", "").bytes(), "whiteout");
  }

  @Test
  void truncatedLayerIsAnError() throws IOException {
    byte[] full = new TestImages.Tar().file("f", new byte[100_000], 0644).bytes();
    byte[] cut = java.util.Arrays.copyOf(full, 20_000);
    assertThrows(IOException.class, () -> unpack(cut));
  }

  @Test
  void gzipAndZstdLayersAndDigestChecks() throws IOException {
    byte[] tar = new TestImages.Tar().file("f", "compressed").bytes();
    for (byte[] blob : List.of(TestImages.gzip(tar), TestImages.zstd(tar), tar)) {
      Fs.deleteTree(target);
      Files.createDirectory(target);
      LayerUnpacker u = new LayerUnpacker(target, LayerUnpacker.Options.forCurrentUser());
      Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.of(blob), blob.length);
      u.apply(new ByteArrayInputStream(blob), d, Digest.of(tar));
      assertEquals("compressed", Files.readString(target.resolve("f")));
      Descriptor wrong = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.of(new byte[1]), blob.length);
      LayerUnpacker u2 = new LayerUnpacker(target, LayerUnpacker.Options.forCurrentUser());
      assertThrows(ImageException.class, () -> u2.apply(new ByteArrayInputStream(blob), wrong, null));
      LayerUnpacker u3 = new LayerUnpacker(target, LayerUnpacker.Options.forCurrentUser());
      assertThrows(ImageException.class, () -> u3.apply(new ByteArrayInputStream(blob), d, Digest.of(new byte[2])));
    }
  }

  @Test
  void deviceNodesAndOwnershipAsRoot() throws IOException {
    if (!LayerUnpacker.isRoot()) {
      System.out.println("SKIP deviceNodesAndOwnershipAsRoot: mknod and chown need root");
    }
    assumeTrue(LayerUnpacker.isRoot(), "device nodes and chown need root; skipped as non-root");
    byte[] l =
        new TestImages.Tar()
            .device("dev/null", TarConstants.LF_CHR, 1, 3)
            .device("dev/loop0", TarConstants.LF_BLK, 7, 0)
            .device("fifo", TarConstants.LF_FIFO, 0, 0)
            .file("owned", "x", e -> { e.setUserId(1234); e.setGroupId(5678); })
            .bytes();
    unpack(l);
    assertEquals(0x103L, ((Number) Files.getAttribute(target.resolve("dev/null"), "unix:rdev")).longValue());
    assertTrue(Files.readAttributes(target.resolve("dev/loop0"), java.nio.file.attribute.BasicFileAttributes.class).isOther());
    assertEquals(1234, Files.getAttribute(target.resolve("owned"), "unix:uid"));
    assertEquals(5678, Files.getAttribute(target.resolve("owned"), "unix:gid"));
  }

  @Test
  void xattrsAreRestored() throws IOException {
    byte[] l =
        new TestImages.Tar()
            .file("withattr", "x", e -> e.addPaxHeader("SCHILY.xattr.user.cocoon", "hello"))
            .bytes();
    unpack(l);
    var view = Files.getFileAttributeView(target.resolve("withattr"),
        java.nio.file.attribute.UserDefinedFileAttributeView.class);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16);
    int n = view.read("cocoon", b);
    assertArrayEquals("hello".getBytes(), java.util.Arrays.copyOf(b.array(), n));
  }

  @Test
  void readOnlyDirectoriesStillGetChildren() throws IOException {
    byte[] l = new TestImages.Tar().dir("ro", 0500).file("ro/child", "c").bytes();
    unpack(l);
    assertEquals("c", Files.readString(target.resolve("ro/child")));
    assertEquals(PosixFilePermissions.fromString("r-x------"), Files.getPosixFilePermissions(target.resolve("ro")));
  }
}

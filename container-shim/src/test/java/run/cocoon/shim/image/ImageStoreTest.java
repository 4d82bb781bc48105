package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStoreTest {
  @TempDir Path tmp;

  /** Removes the stores ourselves: JUnit warns about every absolute symlink in a rootfs. */
  @org.junit.jupiter.api.AfterEach
  void cleanUp() throws IOException {
    try (Stream<Path> s = Files.list(tmp)) {
      for (Path p : s.toList()) {
        Fs.deleteTree(p);
      }
    }
  }

  private ImageStore store() {
    return ImageStore.open(tmp.resolve("store"));
  }

  @Test
  void defaultImageIsDeterministicAndRunnable() throws IOException {
    Image a = DefaultImage.ensure(ImageStore.open(tmp.resolve("s1")));
    Image b = DefaultImage.ensure(ImageStore.open(tmp.resolve("s2")));
    assertEquals(a.digest(), b.digest(), "same busybox, same digest");
    assertEquals(DefaultImage.NAME, a.name());
    assertEquals(List.of("sh"), a.config().cmd());
    ImageStore s = ImageStore.open(tmp.resolve("s1"));
    assertEquals(a.digest(), s.resolve("busybox").digest(), "the short name finds it");
    Path root = s.rootfsDirectory(a);
    assertTrue(Files.isRegularFile(root.resolve("bin/busybox")));
    assertEquals(Path.of("/bin/busybox"), Files.readSymbolicLink(root.resolve("bin/sh")));
    assertTrue(Files.readString(root.resolve("etc/passwd")).startsWith("root:x:0:0:"));
    assertEquals(01777, (int) Files.getAttribute(root.resolve("tmp"), "unix:mode") & 07777);
    for (String mp : List.of("proc", "sys", "dev", "tmp", "etc/hosts", "etc/resolv.conf")) {
      assertTrue(Files.exists(root.resolve(mp)), mp);
    }
    // The static busybox really runs from the unpacked tree.
    Process p = new ProcessBuilder(root.resolve("bin/busybox").toString(), "echo", "hi").start();
    assertEquals("hi\n", new String(p.getInputStream().readAllBytes()));
  }

  @Test
  void importsOciLayoutDirectoryAndTar() throws IOException {
    var img = TestImages.simple("one", TestImages.Compression.GZIP);
    Path layout = TestImages.layout(tmp.resolve("layout"), Map.of("example/one:1", img));
    ImageStore s = store();
    List<Image> ims = new ImageImporter(s).importPath(layout, null);
    assertEquals("example/one:1", ims.getFirst().name());
    assertEquals(img.manifest().digest(), ims.getFirst().digest());
    Path root = s.rootfsDirectory(s.resolve("example/one:1"));
    assertEquals("one", Files.readString(root.resolve("etc/marker")));
    assertEquals("layer two", Files.readString(root.resolve("etc/second")));

    Path tar = TestImages.tarTree(layout, tmp.resolve("layout.tar"));
    List<Image> again = new ImageImporter(s).importPath(tar, "renamed:v2");
    assertEquals("renamed:v2", again.getFirst().name());
    assertEquals(img.manifest().digest(), again.getFirst().digest());
    try (Stream<Path> t = Files.list(s.tmpDir())) {
      assertEquals(0, t.count(), "work areas are gone after import");
    }
  }

  @Test
  void importsIndexPickingLinuxAmd64() throws IOException {
    var amd = TestImages.simple("amd64", TestImages.Compression.ZSTD);
    var arm = TestImages.image(List.of(new TestImages.Tar().file("arm", "x").bytes()),
        TestImages.Compression.GZIP, List.of("x"), "arm64");
    Path dir = tmp.resolve("multi");
    TestImages.layout(dir, Map.of("a", amd, "b", arm));
    // Replace the index.json with one entry pointing at an image index of both.
    byte[] idx = TestImages.index(List.of(arm.manifest(), amd.manifest()));
    Digest idxDigest = Digest.of(idx);
    Files.write(dir.resolve("blobs/sha256/" + idxDigest.hex()), idx);
    Files.write(dir.resolve("index.json"), TestImages.index(List.of(new Descriptor(
        MediaTypes.OCI_INDEX, idxDigest, idx.length, null,
        Map.of(StoreIndex.REF_NAME, "multi/arch:latest")))));
    ImageStore s = store();
    Image im = new ImageImporter(s).importPath(dir, null).getFirst();
    assertEquals(amd.manifest().digest(), im.digest());
    assertEquals("amd64", Files.readString(s.rootfsDirectory(im).resolve("etc/marker")));
  }

  @Test
  void importsDockerSave() throws IOException {
    Path d = Files.createDirectory(tmp.resolve("save"));
    byte[] l1 = new TestImages.Tar().file("hello", "docker").bytes();
    byte[] l2 = new TestImages.Tar().file("two", "2").bytes();
    byte[] l2gz = TestImages.gzip(l2);
    Files.createDirectories(d.resolve("aaa"));
    Files.createDirectories(d.resolve("bbb"));
    Files.write(d.resolve("aaa/layer.tar"), l1);
    Files.write(d.resolve("bbb/layer.tar"), l2gz);
    String cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/hello\"]},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + Digest.of(l1) + "\",\"" + Digest.of(l2) + "\"]}}";
    Files.writeString(d.resolve("cfg.json"), cfg);
    Files.writeString(d.resolve("manifest.json"),
        "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"saved:latest\"],\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}]");
    Path tar = TestImages.tarTree(d, tmp.resolve("save.tar"));
    ImageStore s = store();
    Image im = new ImageImporter(s).importPath(tar, null).getFirst();
    assertEquals("saved:latest", im.name());
    assertEquals(List.of("/hello"), im.config().entrypoint());
    Path root = s.rootfsDirectory(im);
    assertEquals("docker", Files.readString(root.resolve("hello")));
    assertEquals("2", Files.readString(root.resolve("two")));
  }

  @Test
  void corruptBlobInArchiveIsRejectedAndNothingStored() throws IOException {
    var img = TestImages.simple("x", TestImages.Compression.GZIP);
    Path layout = TestImages.layout(tmp.resolve("bad"), Map.of("bad/img:1", img));
    Descriptor layer = ((Manifest) ManifestDocument.parse(img.manifestBytes(), "m")).layers().get(0);
    Path blob = layout.resolve("blobs/sha256/" + layer.digest().hex());
    byte[] b = Files.readAllBytes(blob);
    b[b.length / 2] ^= 1;
    Files.write(blob, b);
    ImageStore s = store();
    ImageException e = assertThrows(ImageException.class, () -> new ImageImporter(s).importPath(layout, null));
    assertTrue(e.getMessage().contains("failed verification"), e.getMessage());
    assertTrue(s.names().isEmpty());
    try (Stream<Path> t = Files.list(s.blobDir())) {
      assertEquals(0, t.count(), "no blob of the failed import was kept");
    }
  }

  @Test
  void hostileLayerFailsUnpackAndLeavesNoRootfs() throws IOException {
    byte[] evil = new TestImages.Tar().symlink("x", "/").file("x/etc/evil", "boom").bytes();
    var img = TestImages.image(List.of(evil), TestImages.Compression.NONE, List.of("sh"), "amd64");
    Path layout = TestImages.layout(tmp.resolve("evil"), Map.of("evil:1", img));
    ImageStore s = store();
    Image im = new ImageImporter(s).importPath(layout, null).getFirst();
    ImageException e = assertThrows(ImageException.class, () -> s.rootfsDirectory(im));
    assertTrue(e.getMessage().contains("symlink"));
    try (Stream<Path> r = Files.list(s.rootfsRoot()); Stream<Path> t = Files.list(s.tmpDir())) {
      assertEquals(0, r.count());
      assertEquals(0, t.count());
    }
    assertFalse(Files.exists(Path.of("/etc/evil")));
  }

  @Test
  void corruptStoredBlobIsDetected() throws IOException {
    var img = TestImages.simple("x", TestImages.Compression.GZIP);
    ImageStore s = store();
    new ImageImporter(s).importPath(TestImages.layout(tmp.resolve("l"), Map.of("c:1", img)), null);
    Files.writeString(s.blobPath(img.manifest().digest()), "{}");
    ImageException e = assertThrows(ImageException.class, () -> s.resolve("c:1"));
    assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    Files.writeString(s.indexFile(), "{not json");
    assertThrows(ImageException.class, s::list);
  }

  @Test
  void rmiRemovesUnsharedDataOnly() throws IOException {
    ImageStore s = store();
    var a = TestImages.simple("a", TestImages.Compression.GZIP);
    var b = TestImages.simple("b", TestImages.Compression.GZIP);
    new ImageImporter(s).importPath(TestImages.layout(tmp.resolve("la"), Map.of("img/a:1", a)), null);
    new ImageImporter(s).importPath(TestImages.layout(tmp.resolve("lb"), Map.of("img/b:1", b)), null);
    new ImageImporter(s).importPath(TestImages.layout(tmp.resolve("la2"), Map.of("img/a:alias", a)), null);
    Image ia = s.resolve("img/a:1");
    Path rootA = s.rootfsDirectory(ia);
    s.remove(List.of("img/a:1"));
    assertTrue(Files.isDirectory(rootA), "still named img/a:alias");
    s.remove(List.of("img/a:alias"));
    assertFalse(Files.exists(rootA));
    assertFalse(s.hasBlob(a.manifest().digest()));
    assertTrue(s.hasBlob(b.manifest().digest()));
    // The second layer is identical in both images and must survive.
    Descriptor shared = ((Manifest) ManifestDocument.parse(b.manifestBytes(), "m")).layers().get(1);
    assertTrue(s.hasBlob(shared.digest()));
    assertEquals(List.of("img/b:1"), List.copyOf(s.names().keySet()));
    assertThrows(ImageException.class, () -> s.remove(List.of("img/a:1")));
  }

  @Test
  void abandonedWorkAreasAreCleanedOnOpen() throws IOException {
    ImageStore s = store();
    // A dead process's area: lock file present but not held, older than the grace period.
    Path dead = Files.createDirectories(s.tmpDir().resolve("stage-1-dead/archive"));
    Files.writeString(dead.resolve("partial-layer"), "half");
    Path deadLock = Files.createFile(s.tmpDir().resolve("stage-1-dead.lock"));
    FileTime old = FileTime.from(Instant.now().minusSeconds(3600));
    Files.setLastModifiedTime(s.tmpDir().resolve("stage-1-dead"), old);
    try (Staging live = s.stage()) {
      Files.setLastModifiedTime(live.dir(), old);
      ImageStore.open(s.root());
      assertFalse(Files.exists(dead.getParent()));
      assertFalse(Files.exists(deadLock));
      assertTrue(Files.isDirectory(live.dir()), "a live area survives");
    }
    assertTrue(s.names().isEmpty());
  }

  @Test
  void concurrentImportsAndUnpacksAgree() throws Exception {
    ImageStore s = store();
    List<Path> layouts = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      layouts.add(TestImages.layout(tmp.resolve("c" + i),
          Map.of("conc/img:" + i, TestImages.simple("v" + (i % 2), TestImages.Compression.GZIP))));
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Path>> fs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int n = i;
        Callable<Path> c = () -> {
          ImageStore mine = ImageStore.open(s.root());
          Image im = new ImageImporter(mine).importPath(layouts.get(n), null).getFirst();
          return mine.rootfsDirectory(im);
        };
        fs.add(pool.submit(c));
      }
      List<Path> roots = new ArrayList<>();
      for (var f : fs) {
        roots.add(f.get());
      }
      assertEquals(roots.get(0), roots.get(2));
      assertNotEquals(roots.get(0), roots.get(1));
    } finally {
      pool.shutdownNow();
    }
    assertEquals(4, s.names().size());
    try (Stream<Path> r = Files.list(s.rootfsRoot())) {
      assertEquals(2, r.count());
    }
  }

  @Test
  void rootfsDiskIsBuilt() throws IOException {
    ImageStore s = store();
    Image im = DefaultImage.ensure(s);
    Path disk = s.rootfsDisk(im);
    assertTrue(Files.size(disk) >= ImageLimits.MIN_DISK_BYTES);
    // debugfs reads the file system without mounting it.
    Process p = new ProcessBuilder("debugfs", "-R", "stat /bin/busybox", disk.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(out.contains("Type: regular"), out);
    Process l = new ProcessBuilder("debugfs", "-R", "stat /bin/sh", disk.toString())
        .redirectErrorStream(true).start();
    assertTrue(new String(l.getInputStream().readAllBytes()).contains("Type: symlink"));
    assertEquals(disk, s.rootfsDisk(im), "built once");
  }

  @Test
  void badReferencesAreRejected() {
    for (String bad : List.of("", "UPPER/case", "a:b:c", "x@sha256:123", "a//b", "a" + "/b".repeat(300))) {
      assertThrows(ImageException.class, () -> Reference.parse(bad), bad);
    }
    Reference r = Reference.parse("127.0.0.1:5000/lib/img");
    assertEquals("127.0.0.1:5000", r.registry());
    assertEquals("lib/img", r.repository());
    assertEquals("latest", r.tag());
    assertEquals("localhost/x:1", Reference.parse("localhost/x:1").name());
  }

  @Test
  void hostileConfigsAreRejected() {
    String base = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":";
    for (String c : List.of("{\"Env\":[\"=x\"]}", "{\"Env\":[\"NOEQUALS\"]}", "{\"Env\":[\"A=\\u0000\"]}",
        "{\"Cmd\":[\"a\\u0000b\"]}", "{\"WorkingDir\":\"relative\"}", "{\"WorkingDir\":\"/a/../..\"}",
        "{\"Cmd\":\"not-a-list\"}")) {
      assertThrows(ImageException.class, () -> ImageConfig.parse((base + c + "}").getBytes()), c);
    }
    byte[] deep = ("[".repeat(10_000) + "]".repeat(10_000)).getBytes();
    assertThrows(ImageException.class, () -> ImageConfig.parse(deep));
    byte[] huge = new byte[ImageLimits.MAX_CONFIG_BYTES + 1];
    assertThrows(ImageException.class, () -> ImageConfig.parse(huge));
  }
}

package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pulls from a real registry (Debian's docker-registry) started on loopback for this class. */
class RegistryPullTest {
  @TempDir static Path registryDir;
  static RealRegistry registry;
  @TempDir Path tmp;
  ImageStore store;

  @BeforeAll
  static void startRegistry() throws Exception {
    if (!RealRegistry.available()) {
      System.out.println("SKIP RegistryPullTest: " + RealRegistry.BINARY
          + " missing (install docker-registry; scripts/setup-host does)");
    }
    assumeTrue(RealRegistry.available(), "docker-registry not installed");
    registry = new RealRegistry(registryDir);
  }

  @AfterAll
  static void stopRegistry() {
    if (registry != null) {
      registry.close();
    }
  }

  @BeforeEach
  void openStore() {
    store = ImageStore.open(tmp.resolve("store"));
  }

  @AfterEach
  void cleanUp() throws IOException {
    Fs.deleteTree(tmp.resolve("store"));
  }

  private Image pull(String ref) {
    return new Puller(store, Progress.silent()).pull(ref, false);
  }

  @Test
  void pullsGzipImageByTagAndReusesLayers() throws Exception {
    var img = TestImages.simple("gz", TestImages.Compression.GZIP);
    registry.push("test/gz", "v1", img);
    Image im = pull(registry.host() + "/test/gz:v1");
    assertEquals(registry.host() + "/test/gz:v1", im.name());
    assertEquals(img.manifest().digest(), im.digest());
    assertEquals("gz", Files.readString(store.rootfsDirectory(im).resolve("etc/marker")));
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    new Puller(store, new Progress.Lines(new PrintStream(log))).pull(registry.host() + "/test/gz:v1", false);
    assertTrue(log.toString().contains("already stored"), log.toString());
    try (Stream<Path> t = Files.list(store.tmpDir())) {
      assertEquals(0, t.count());
    }
  }

  @Test
  void pullsZstdImageAndByDigest() throws Exception {
    var img = TestImages.simple("zstd", TestImages.Compression.ZSTD);
    registry.push("test/zstd", "v1", img);
    Image im = pull(registry.host() + "/test/zstd@" + img.manifest().digest());
    assertEquals("zstd", Files.readString(store.rootfsDirectory(im).resolve("etc/marker")));
    assertEquals(im.digest(), store.resolve(registry.host() + "/test/zstd@" + img.manifest().digest()).digest());
  }

  @Test
  void pullsLinuxAmd64FromAnIndex() throws Exception {
    var amd = TestImages.simple("amd64", TestImages.Compression.GZIP);
    var arm = TestImages.image(List.of(new TestImages.Tar().file("arm", "arm").bytes()),
        TestImages.Compression.GZIP, List.of("x"), "arm64");
    registry.push("test/multi", arm.manifest().digest().toString(), arm);
    registry.push("test/multi", amd.manifest().digest().toString(), amd);
    byte[] index = TestImages.index(List.of(arm.manifest(), amd.manifest()));
    registry.pushManifest("test/multi", "latest", MediaTypes.OCI_INDEX, index);
    Image im = pull(registry.host() + "/test/multi");
    assertEquals(amd.manifest().digest(), im.digest());
    assertEquals("amd64", Files.readString(store.rootfsDirectory(im).resolve("etc/marker")));
    // Only the amd64 image's blobs were fetched.
    var armLayer = ((Manifest) ManifestDocument.parse(arm.manifestBytes(), "m")).layers().getFirst();
    assertTrue(!store.hasBlob(armLayer.digest()));
  }

  @Test
  void indexWithoutAmd64IsAClearError() throws Exception {
    var arm = TestImages.image(List.of(new TestImages.Tar().file("arm", "arm").bytes()),
        TestImages.Compression.GZIP, List.of("x"), "arm64");
    registry.push("test/armonly", arm.manifest().digest().toString(), arm);
    registry.pushManifest("test/armonly", "latest", MediaTypes.OCI_INDEX,
        TestImages.index(List.of(arm.manifest())));
    ImageException e = assertThrows(ImageException.class, () -> pull(registry.host() + "/test/armonly"));
    assertTrue(e.getMessage().contains("linux/amd64"), e.getMessage());
    assertTrue(store.names().isEmpty());
  }

  @Test
  void missingTagIsNotFound() {
    ImageException e = assertThrows(ImageException.class, () -> pull(registry.host() + "/test/none:nope"));
    assertEquals(ImageException.Kind.NOT_FOUND, e.kind());
  }

  @Test
  void parallelLayersOfABiggerImage() throws Exception {
    java.util.Random rnd = new java.util.Random(42);
    List<byte[]> tars = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      byte[] data = new byte[2 * 1024 * 1024];
      rnd.nextBytes(data);
      tars.add(new TestImages.Tar().file("blob" + i, data, 0644).bytes());
    }
    var img = TestImages.image(tars, TestImages.Compression.ZSTD, List.of("x"), "amd64");
    registry.push("test/big", "v1", img);
    Image im = pull(registry.host() + "/test/big:v1");
    assertEquals(6, im.manifest().layers().size());
    assertEquals(2 * 1024 * 1024, Files.size(store.rootfsDirectory(im).resolve("blob5")));
  }
}

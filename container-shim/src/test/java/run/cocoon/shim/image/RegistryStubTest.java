package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registry behaviour a real registry does not produce on demand, against an in-test HTTP stub:
 * bearer-token challenges answered by a token endpoint, content not matching its digest, and a
 * pull killed mid-download. The stub speaks only the GET side of the distribution API.
 */
class RegistryStubTest {
  @TempDir Path tmp;
  StubRegistry stub;
  ImageStore store;

  @BeforeEach
  void setUp() throws IOException {
    stub = new StubRegistry();
    store = ImageStore.open(tmp.resolve("store"));
  }

  @AfterEach
  void tearDown() throws IOException {
    stub.close();
    Fs.deleteTree(tmp.resolve("store"));
  }

  private void assertStoreHasNothing() throws IOException {
    assertTrue(store.names().isEmpty());
    try (Stream<Path> b = Files.list(store.blobDir()); Stream<Path> t = Files.list(store.tmpDir())) {
      assertEquals(0, b.count(), "no blobs kept");
      assertEquals(0, t.count(), "no work area left");
    }
  }

  @Test
  void bearerTokenFromTheChallengeRealm() throws Exception {
    stub.requiredToken = "s3cret-token";
    stub.add("stub/img", "v1", TestImages.simple("auth", TestImages.Compression.GZIP));
    Image im = new Puller(store, Progress.silent()).pull(stub.host() + "/stub/img:v1", false);
    assertEquals("auth", Files.readString(store.rootfsDirectory(im).resolve("etc/marker")));
    assertFalse(stub.tokenRequests.isEmpty());
    assertTrue(stub.tokenRequests.getFirst().contains("service=stub"), stub.tokenRequests.toString());
    assertTrue(stub.tokenRequests.getFirst().contains("scope=repository%3Astub%2Fimg%3Apull"),
        stub.tokenRequests.toString());
  }

  @Test
  void layerNotMatchingItsDigestIsRejectedAndNothingKept() throws Exception {
    var img = TestImages.simple("bad", TestImages.Compression.GZIP);
    stub.add("stub/img", "v1", img);
    var layer = ((Manifest) ManifestDocument.parse(img.manifestBytes(), "m")).layers().get(1);
    stub.corrupt.add(layer.digest().toString());
    ImageException e = assertThrows(ImageException.class,
        () -> new Puller(store, Progress.silent()).pull(stub.host() + "/stub/img:v1", false));
    assertEquals(ImageException.Kind.BAD_INPUT, e.kind());
    assertTrue(e.getMessage().contains("failed verification"), e.getMessage());
    assertStoreHasNothing();
  }

  @Test
  void manifestNotMatchingTheRequestedDigestIsRejected() throws Exception {
    var img = TestImages.simple("m", TestImages.Compression.GZIP);
    stub.add("stub/img", "v1", img);
    Digest other = Digest.of(new byte[] {1});
    stub.manifests.put("stub/img/" + other, img.manifestBytes());
    ImageException e = assertThrows(ImageException.class,
        () -> new Puller(store, Progress.silent()).pull(stub.host() + "/stub/img@" + other, false));
    assertTrue(e.getMessage().contains("refusing"), e.getMessage());
    assertStoreHasNothing();
  }

  @Test
  void killedPullLeavesNothingThatLooksComplete() throws Exception {
    var img = TestImages.simple("killed", TestImages.Compression.GZIP);
    stub.add("stub/img", "v1", img);
    var layer = ((Manifest) ManifestDocument.parse(img.manifestBytes(), "m")).layers().get(0);
    stub.stall.add(layer.digest().toString());
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"),
        "-Dcocoon.home=" + store.root(), "run.cocoon.shim.cli.Main",
        "pull", stub.host() + "/stub/img:v1"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("pull.log").toFile()).start();
    // Wait until the stalled download has begun: a partial file exists in a work area.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!hasPartialDownload() && System.nanoTime() < deadline && p.isAlive()) {
      Thread.sleep(50);
    }
    assertTrue(hasPartialDownload(), Files.readString(tmp.resolve("pull.log")));
    p.destroyForcibly().waitFor();
    assertTrue(store.names().isEmpty(), "no name points at the half-pulled image");
    assertFalse(store.hasBlob(layer.digest()));
    assertThrows(ImageException.class, () -> store.resolve(stub.host() + "/stub/img:v1"));
    // Later, the next process to open the store removes the dead work area.
    try (Stream<Path> t = Files.list(store.tmpDir())) {
      for (Path x : t.toList()) {
        Files.setLastModifiedTime(x, FileTime.from(Instant.now().minusSeconds(3600)));
      }
    }
    ImageStore.open(store.root());
    assertStoreHasNothing();
  }

  private boolean hasPartialDownload() throws IOException {
    try (Stream<Path> s = Files.walk(store.tmpDir())) {
      return s.anyMatch(f -> f.getFileName().toString().endsWith(".part") && sizeOf(f) > 0);
    }
  }

  private static long sizeOf(Path f) {
    try {
      return Files.size(f);
    } catch (IOException e) {
      return 0;
    }
  }
}

package run.cocoon.shim.image;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Debian's docker-registry (the CNCF distribution registry) on a free loopback port with its own
 * storage, plus a minimal push client (monolithic blob uploads, manifest PUT) for fixtures.
 */
final class RealRegistry implements AutoCloseable {
  static final Path BINARY = Path.of("/usr/bin/docker-registry");
  static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  final Process process;
  final int port;
  private final HttpClient http = HttpClient.newHttpClient();

  RealRegistry(Path dir) throws IOException, InterruptedException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path storage = Files.createDirectories(dir.resolve("storage"));
    Path config = dir.resolve("config.yml");
    Files.writeString(config, String.join("\n",
        "version: 0.1",
        "log:",
        "  level: error",
        "storage:",
        "  filesystem:",
        "    rootdirectory: " + storage,
        "  delete:",
        "    enabled: true",
        "http:",
        "  addr: 127.0.0.1:" + port,
        ""));
    process = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("registry.log").toFile())
        .start();
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      try {
        var r = http.send(HttpRequest.newBuilder(URI.create(base() + "/v2/")).build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        close();
        throw new IOException("docker-registry did not start; see " + dir.resolve("registry.log")
            + ": " + Files.readString(dir.resolve("registry.log")));
      }
      Thread.sleep(100);
    }
  }

  static boolean available() {
    return Files.isExecutable(BINARY);
  }

  String base() {
    return "http://127.0.0.1:" + port;
  }

  String host() {
    return "127.0.0.1:" + port;
  }

  void pushBlob(String repo, Digest d, byte[] data) throws IOException, InterruptedException {
    var head = http.send(HttpRequest.newBuilder(URI.create(base() + "/v2/" + repo + "/blobs/" + d))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    if (head.statusCode() == 200) {
      return;
    }
    var start = http.send(HttpRequest.newBuilder(URI.create(base() + "/v2/" + repo + "/blobs/uploads/"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    check(start, 202, "start upload");
    URI loc = URI.create(base()).resolve(start.headers().firstValue("Location").orElseThrow());
    String sep = loc.getQuery() == null ? "?" : "&";
    var put = http.send(HttpRequest.newBuilder(URI.create(loc + sep + "digest=" + d))
        .header("Content-Type", "application/octet-stream")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
    check(put, 201, "upload " + d);
  }

  void pushManifest(String repo, String ref, String mediaType, byte[] data)
      throws IOException, InterruptedException {
    var put = http.send(HttpRequest.newBuilder(URI.create(base() + "/v2/" + repo + "/manifests/" + ref))
        .header("Content-Type", mediaType)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
    check(put, 201, "manifest " + ref);
  }

  void push(String repo, String tag, TestImages.Built img) throws IOException, InterruptedException {
    for (var b : img.blobs().entrySet()) {
      if (!b.getKey().equals(img.manifest().digest())) {
        pushBlob(repo, b.getKey(), b.getValue());
      }
    }
    pushManifest(repo, tag, img.manifest().mediaType(), img.manifestBytes());
  }

  private static void check(HttpResponse<?> r, int want, String what) throws IOException {
    if (r.statusCode() != want) {
      throw new IOException(what + ": HTTP " + r.statusCode() + " " + r.body());
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}

package run.cocoon.shim.image;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A tiny in-test stand-in for a registry and its token service, for behaviour a real registry will
 * not show: bearer-token challenges, content that does not match its digest, a stalling blob.
 */
final class StubRegistry implements AutoCloseable {
  final HttpServer server;
  final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
  final Map<String, String> manifestTypes = new ConcurrentHashMap<>();
  final List<String> tokenRequests = new CopyOnWriteArrayList<>();
  volatile String requiredToken;
  /** Blob digests whose content is served with one byte flipped. */
  final java.util.Set<String> corrupt = ConcurrentHashMap.newKeySet();
  /** Blob digests served half, then the connection stalls. */
  final java.util.Set<String> stall = ConcurrentHashMap.newKeySet();

  StubRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setExecutor(Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "stub-registry");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/token", this::token);
    server.createContext("/v2/", this::registry);
    server.start();
  }

  String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  void add(String repo, String tag, TestImages.Built img) {
    img.blobs().forEach((d, b) -> blobs.put(d.toString(), b));
    manifests.put(repo + "/" + tag, img.manifestBytes());
    manifests.put(repo + "/" + img.manifest().digest(), img.manifestBytes());
    manifestTypes.put(repo + "/" + tag, img.manifest().mediaType());
  }

  private void token(HttpExchange x) throws IOException {
    tokenRequests.add(x.getRequestURI().getRawQuery());
    send(x, 200, "application/json", ("{\"token\":\"" + requiredToken + "\"}").getBytes());
  }

  private void registry(HttpExchange x) throws IOException {
    if (requiredToken != null
        && !("Bearer " + requiredToken).equals(x.getRequestHeaders().getFirst("Authorization"))) {
      x.getResponseHeaders().add("WWW-Authenticate",
          "Bearer realm=\"http://" + host() + "/token\",service=\"stub\",scope=\"repository:"
              + "stub/img:pull\"");
      send(x, 401, "application/json", "{}".getBytes());
      return;
    }
    String path = x.getRequestURI().getPath().substring("/v2/".length());
    int m = path.indexOf("/manifests/");
    int b = path.indexOf("/blobs/");
    if (m > 0) {
      String key = path.substring(0, m) + "/" + path.substring(m + "/manifests/".length());
      byte[] body = manifests.get(key);
      if (body == null) {
        send(x, 404, "application/json", "{}".getBytes());
        return;
      }
      send(x, 200, manifestTypes.getOrDefault(key, MediaTypes.OCI_MANIFEST), body);
    } else if (b > 0) {
      String digest = path.substring(b + "/blobs/".length());
      byte[] body = blobs.get(digest);
      if (body == null) {
        send(x, 404, "application/json", "{}".getBytes());
        return;
      }
      if (corrupt.contains(digest)) {
        body = body.clone();
        body[body.length / 2] ^= 0x55;
      }
      if (stall.contains(digest)) {
        x.sendResponseHeaders(200, body.length);
        try (OutputStream o = x.getResponseBody()) {
          o.write(body, 0, body.length / 2);
          o.flush();
          Thread.sleep(120_000);
        } catch (InterruptedException | IOException e) {
          // the client went away, as the test intends
        }
        return;
      }
      send(x, 200, "application/octet-stream", body);
    } else {
      send(x, 200, "application/json", "{}".getBytes());
    }
  }

  private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
    x.getResponseHeaders().add("Content-Type", type);
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream o = x.getResponseBody()) {
      o.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}

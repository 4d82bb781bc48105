package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client for the OCI distribution API (v2): manifests and blobs of one registry, with anonymous
 * or credential-backed bearer tokens. Answers are untrusted: sizes are bounded while reading, and
 * the callers verify digests.
 */
final class RegistryClient {
  static final String MANIFEST_ACCEPT =
      String.join(", ", MediaTypes.OCI_INDEX, MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_LIST,
          MediaTypes.DOCKER_MANIFEST);
  private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");

  private final String registry;
  private final URI base;
  private final HttpClient http;
  private final String basicCredentials;
  private volatile String authorization;

  /** A small document from the registry (manifest or index) and what the registry said of it. */
  record Fetched(byte[] body, String contentType, String dockerContentDigest) {}

  RegistryClient(String registry, boolean plainHttp) {
    this.registry = registry;
    boolean loopback =
        registry.startsWith("localhost") || registry.startsWith("127.") || registry.startsWith("[::1]");
    this.base = URI.create((plainHttp || loopback ? "http://" : "https://") + registry + "/v2/");
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(ImageLimits.CONNECT_TIMEOUT_SECONDS))
            // Redirects are followed by hand so credentials never travel to another host.
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    String user = System.getenv("COCOON_REGISTRY_USER");
    String pass = System.getenv("COCOON_REGISTRY_PASSWORD");
    this.basicCredentials =
        user == null
            ? null
            : "Basic " + Base64.getEncoder().encodeToString(
                (user + ":" + (pass == null ? "" : pass)).getBytes(StandardCharsets.UTF_8));
  }

  Fetched manifest(String repository, String selector) throws IOException {
    HttpResponse<InputStream> r =
        send(base.resolve(repository + "/manifests/" + selector), MANIFEST_ACCEPT, repository);
    try (InputStream in = r.body()) {
      expectOk(r, "manifest " + repository + ":" + selector);
      byte[] body = readBounded(in, ImageLimits.MAX_MANIFEST_BYTES, "manifest");
      return new Fetched(
          body,
          r.headers().firstValue("Content-Type").orElse(""),
          r.headers().firstValue("Docker-Content-Digest").orElse(null));
    }
  }

  /** Opens a blob's content; the caller bounds and verifies what it reads. */
  InputStream blob(String repository, Digest digest) throws IOException {
    URI u = base.resolve(repository + "/blobs/" + digest);
    HttpResponse<InputStream> r = send(u, "*/*", repository);
    for (int i = 0; isRedirect(r.statusCode()); i++) {
      r.body().close();
      if (i >= ImageLimits.MAX_REDIRECTS) {
        throw new ImageException(
            ImageException.Kind.UNAVAILABLE, "blob " + digest + ": too many redirects");
      }
      URI next = u.resolve(r.headers().firstValue("Location").orElseThrow(
          () -> new ImageException(ImageException.Kind.UNAVAILABLE, "redirect without Location")));
      boolean sameHost = next.getAuthority() != null && next.getAuthority().equals(u.getAuthority());
      HttpRequest.Builder b = HttpRequest.newBuilder(next).timeout(timeout()).GET();
      if (sameHost && authorization != null) {
        b.header("Authorization", authorization);
      }
      u = next;
      r = exchange(b.build());
    }
    expectOk(r, "blob " + digest);
    return r.body();
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  private HttpResponse<InputStream> send(URI u, String accept, String repository)
      throws IOException {
    HttpResponse<InputStream> r = exchange(request(u, accept));
    if (r.statusCode() == 401) {
      String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
      r.body().close();
      authorization = authorize(challenge, repository);
      r = exchange(request(u, accept));
      if (r.statusCode() == 401) {
        r.body().close();
        throw new ImageException(
            ImageException.Kind.UNAVAILABLE,
            "registry " + registry + " refused our credentials for " + repository
                + (basicCredentials == null
                    ? "; set COCOON_REGISTRY_USER and COCOON_REGISTRY_PASSWORD"
                    : "; check COCOON_REGISTRY_USER and COCOON_REGISTRY_PASSWORD"));
      }
    }
    return r;
  }

  private HttpRequest request(URI u, String accept) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(u).timeout(timeout()).header("Accept", accept).GET();
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b.build();
  }

  private static Duration timeout() {
    return Duration.ofSeconds(ImageLimits.REQUEST_TIMEOUT_SECONDS);
  }

  private HttpResponse<InputStream> exchange(HttpRequest req) throws IOException {
    try {
      return http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted talking to " + registry);
    } catch (java.net.ConnectException e) {
      throw new ImageException(
          ImageException.Kind.UNAVAILABLE,
          "cannot connect to registry " + registry + " (" + req.uri().getScheme() + "): " + e
              + "; is it running and reachable? (use --plain-http for an HTTP registry)",
          e);
    }
  }

  /** Answers a 401 challenge: a bearer token from the realm it names, or basic credentials. */
  private String authorize(String challenge, String repository) throws IOException {
    if (challenge.regionMatches(true, 0, "Basic", 0, 5)) {
      if (basicCredentials == null) {
        throw new ImageException(
            ImageException.Kind.UNAVAILABLE,
            "registry " + registry + " needs a user name and password; set COCOON_REGISTRY_USER"
                + " and COCOON_REGISTRY_PASSWORD");
      }
      return basicCredentials;
    }
    if (!challenge.regionMatches(true, 0, "Bearer", 0, 6)) {
      throw new ImageException(
          ImageException.Kind.UNAVAILABLE,
          "registry " + registry + " asks for unsupported authentication: " + challenge);
    }
    Map<String, String> p = new LinkedHashMap<>();
    Matcher m = CHALLENGE_PARAM.matcher(challenge);
    while (m.find()) {
      p.put(m.group(1), m.group(2));
    }
    String realm = p.get("realm");
    if (realm == null) {
      throw ImageException.bad("registry " + registry + " sent a bearer challenge without realm");
    }
    URI realmUri = URI.create(realm);
    if (!"https".equals(realmUri.getScheme()) && !"http".equals(realmUri.getScheme())) {
      throw ImageException.bad("registry " + registry + " sent a bad token realm " + realm);
    }
    String scope = p.getOrDefault("scope", "repository:" + repository + ":pull");
    StringBuilder q = new StringBuilder(realm).append(realm.contains("?") ? "&" : "?");
    if (p.containsKey("service")) {
      q.append("service=").append(enc(p.get("service"))).append('&');
    }
    q.append("scope=").append(enc(scope));
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(q.toString())).timeout(timeout()).GET();
    if (basicCredentials != null) {
      b.header("Authorization", basicCredentials);
    }
    HttpResponse<InputStream> r = exchange(b.build());
    try (InputStream in = r.body()) {
      if (r.statusCode() != 200) {
        throw new ImageException(
            ImageException.Kind.UNAVAILABLE,
            "token service " + realmUri.getHost() + " answered HTTP " + r.statusCode()
                + " for " + scope + "; check the name and credentials");
      }
      JsonNode t =
          Json.parse(readBounded(in, ImageLimits.MAX_TOKEN_RESPONSE_BYTES, "token"), "token answer");
      String token = Json.optText(t, "token", "token answer");
      if (token == null) {
        token = Json.optText(t, "access_token", "token answer");
      }
      if (token == null || token.isEmpty() || !token.matches("[\\x21-\\x7e]+")) {
        throw ImageException.bad("token service for " + registry + " sent no usable token");
      }
      return "Bearer " + token;
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private void expectOk(HttpResponse<InputStream> r, String what) throws IOException {
    int s = r.statusCode();
    if (s == 200) {
      return;
    }
    r.body().close();
    if (s == 404) {
      throw new ImageException(
          ImageException.Kind.NOT_FOUND,
          what + " not found on " + registry + "; check the name and tag");
    }
    throw new ImageException(
        ImageException.Kind.UNAVAILABLE, registry + " answered HTTP " + s + " for " + what);
  }

  static byte[] readBounded(InputStream in, int max, String what) throws IOException {
    byte[] b = in.readNBytes(max + 1);
    if (b.length > max) {
      throw ImageException.bad(what + " from the registry is over " + max + " bytes");
    }
    return b;
  }
}

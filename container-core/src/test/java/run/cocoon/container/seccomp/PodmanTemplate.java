package run.cocoon.container.seccomp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Podman's (and Docker's) profile file is a template: entries with {@code includes} and
 * {@code excludes} (architectures, capabilities) and an {@code archMap}. Podman turns it into the
 * OCI {@code linux.seccomp} object for one container; this does the same for x86-64 and a
 * capability set, so that the real thing can be applied and compared.
 */
public final class PodmanTemplate {
  public static final Path PATH = Path.of("/usr/share/containers/seccomp.json");
  private static final ObjectMapper JSON = new ObjectMapper();

  private PodmanTemplate() {}

  public static ObjectNode resolve(Path template, Set<String> capabilities) throws IOException {
    JsonNode t = JSON.readTree(Files.readAllBytes(template));
    ObjectNode out = JSON.createObjectNode();
    out.put("defaultAction", t.get("defaultAction").asText());
    if (t.has("defaultErrnoRet")) {
      out.put("defaultErrnoRet", t.get("defaultErrnoRet").asLong());
    }
    ArrayNode arches = out.putArray("architectures");
    for (JsonNode m : t.path("archMap")) {
      if (m.get("architecture").asText().equals("SCMP_ARCH_X86_64")) {
        arches.add("SCMP_ARCH_X86_64");
        m.path("subArchitectures").forEach(arches::add);
      }
    }
    ArrayNode syscalls = out.putArray("syscalls");
    for (JsonNode s : t.get("syscalls")) {
      if (!applies(s, capabilities)) {
        continue;
      }
      ObjectNode rule = syscalls.addObject();
      rule.set("names", s.get("names"));
      rule.put("action", s.get("action").asText());
      if (s.has("errnoRet")) {
        rule.put("errnoRet", s.get("errnoRet").asLong());
      }
      if (s.has("args") && !s.get("args").isNull() && !s.get("args").isEmpty()) {
        rule.set("args", s.get("args"));
      }
    }
    return out;
  }

  private static boolean applies(JsonNode s, Set<String> capabilities) {
    JsonNode inc = s.path("includes");
    JsonNode exc = s.path("excludes");
    if (inc.has("arches") && !contains(inc.get("arches"), "amd64")) {
      return false;
    }
    for (JsonNode c : inc.path("caps")) {
      if (!capabilities.contains(c.asText())) {
        return false;
      }
    }
    if (inc.has("minKernel")) {
      throw new AssertionError("minKernel is not handled: " + s);
    }
    if (exc.has("arches") && contains(exc.get("arches"), "amd64")) {
      return false;
    }
    for (JsonNode c : exc.path("caps")) {
      if (capabilities.contains(c.asText())) {
        return false;
      }
    }
    return true;
  }

  private static boolean contains(JsonNode array, String value) {
    for (JsonNode v : array) {
      if (v.asText().equals(value)) {
        return true;
      }
    }
    return false;
  }
}

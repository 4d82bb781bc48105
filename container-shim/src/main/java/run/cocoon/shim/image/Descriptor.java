package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** An OCI content descriptor: what a blob is, its digest and its exact size. */
public record Descriptor(
    String mediaType, Digest digest, long size, Platform platform, Map<String, String> annotations) {

  public Descriptor {
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  public Descriptor(String mediaType, Digest digest, long size) {
    this(mediaType, digest, size, null, Map.of());
  }

  static Descriptor fromJson(JsonNode n, String what) {
    if (n == null || !n.isObject()) {
      throw ImageException.bad(what + " is not a descriptor object");
    }
    return new Descriptor(
        Json.text(n, "mediaType", what),
        Digest.parse(Json.text(n, "digest", what)),
        Json.nonNegativeLong(n, "size", what),
        Platform.fromJson(n.get("platform"), what),
        Json.optStringMap(n, "annotations", what));
  }

  ObjectNode toJson() {
    ObjectNode o = Json.object();
    o.put("mediaType", mediaType);
    o.put("digest", digest.toString());
    o.put("size", size);
    if (platform != null) {
      ObjectNode p = o.putObject("platform");
      p.put("architecture", platform.architecture());
      p.put("os", platform.os());
      if (platform.variant() != null) {
        p.put("variant", platform.variant());
      }
    }
    if (!annotations.isEmpty()) {
      ObjectNode a = o.putObject("annotations");
      annotations.forEach(a::put);
    }
    return o;
  }
}

package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** An image manifest: one config blob and the layers, bottom first. */
public record Manifest(String mediaType, Descriptor config, List<Descriptor> layers)
    implements ManifestDocument {

  public Manifest {
    layers = List.copyOf(layers);
    if (layers.size() > ImageLimits.MAX_LAYERS) {
      throw ImageException.bad(
          "image has " + layers.size() + " layers, over the limit of " + ImageLimits.MAX_LAYERS);
    }
    if (config.size() > ImageLimits.MAX_CONFIG_BYTES) {
      throw ImageException.bad(
          "image config declares " + config.size() + " bytes, over the limit of "
              + ImageLimits.MAX_CONFIG_BYTES);
    }
    for (Descriptor l : layers) {
      if (!MediaTypes.LAYERS.contains(l.mediaType())) {
        throw ImageException.bad(
            "layer " + l.digest() + " has unsupported media type " + l.mediaType()
                + (l.mediaType().equals(MediaTypes.DOCKER_FOREIGN_LAYER)
                    ? " (a Windows image; cocoon runs Linux images only)"
                    : ""));
      }
      if (l.size() > ImageLimits.MAX_LAYER_BYTES) {
        throw ImageException.bad(
            "layer " + l.digest() + " declares " + l.size() + " bytes, over the limit of "
                + ImageLimits.MAX_LAYER_BYTES);
      }
    }
  }

  static Manifest fromJson(String mediaType, JsonNode n, String what) {
    Descriptor config = Descriptor.fromJson(n.get("config"), what + " config");
    JsonNode ls = n.get("layers");
    if (ls == null || !ls.isArray()) {
      throw ImageException.bad(what + ": 'layers' missing or not an array");
    }
    if (ls.size() > ImageLimits.MAX_LAYERS) {
      throw ImageException.bad(
          what + " has " + ls.size() + " layers, over the limit of " + ImageLimits.MAX_LAYERS);
    }
    List<Descriptor> layers = new ArrayList<>();
    for (JsonNode l : ls) {
      layers.add(Descriptor.fromJson(l, what + " layer " + layers.size()));
    }
    return new Manifest(mediaType, config, layers);
  }

  /** Canonical OCI JSON for manifests cocoon writes itself (imports, the default image). */
  byte[] toJson() {
    ObjectNode o = Json.object();
    o.put("schemaVersion", 2);
    o.put("mediaType", mediaType);
    o.set("config", config.toJson());
    ArrayNode a = o.putArray("layers");
    layers.forEach(l -> a.add(l.toJson()));
    return Json.write(o);
  }
}

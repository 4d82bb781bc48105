package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** A multi-platform image index (OCI) or manifest list (Docker). */
public record ImageIndex(String mediaType, List<Descriptor> manifests) implements ManifestDocument {

  public ImageIndex {
    manifests = List.copyOf(manifests);
  }

  static ImageIndex fromJson(String mediaType, JsonNode n, String what) {
    JsonNode ms = n.get("manifests");
    if (ms == null || !ms.isArray()) {
      throw ImageException.bad(what + ": 'manifests' missing or not an array");
    }
    if (ms.size() > ImageLimits.MAX_INDEX_ENTRIES) {
      throw ImageException.bad(
          what + " lists " + ms.size() + " manifests, over the limit of "
              + ImageLimits.MAX_INDEX_ENTRIES);
    }
    List<Descriptor> out = new ArrayList<>();
    for (JsonNode m : ms) {
      out.add(Descriptor.fromJson(m, what + " entry " + out.size()));
    }
    return new ImageIndex(mediaType, out);
  }

  /**
   * The linux/amd64 image manifest of this index. Entries without a platform are skipped
   * (attestations and signatures are listed that way); variants do not matter on amd64.
   */
  public Descriptor linuxAmd64() {
    for (Descriptor d : manifests) {
      if (d.platform() != null
          && d.platform().runsHere()
          && MediaTypes.MANIFESTS.contains(d.mediaType())) {
        return d;
      }
    }
    List<String> seen = new ArrayList<>();
    for (Descriptor d : manifests) {
      seen.add(String.valueOf(d.platform()));
    }
    throw new ImageException(
        ImageException.Kind.NOT_FOUND,
        "the image has no linux/amd64 variant (it offers " + seen + "); choose an amd64 image");
  }
}

package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;

/** What a manifest endpoint or an index.json entry can point at: an image, or a list of them. */
public sealed interface ManifestDocument permits Manifest, ImageIndex {

  String mediaType();

  /**
   * Parses a manifest or index, deciding by its own mediaType field, then by its shape (OCI allows
   * the field to be absent). Docker schema 1 is refused: it is deprecated and unsigned here.
   */
  static ManifestDocument parse(byte[] data, String what) {
    if (data.length > ImageLimits.MAX_MANIFEST_BYTES) {
      throw ImageException.bad(
          what + " is " + data.length + " bytes, over the limit of " + ImageLimits.MAX_MANIFEST_BYTES);
    }
    JsonNode n = Json.parse(data, what);
    JsonNode sv = n.get("schemaVersion");
    if (sv == null || sv.asInt() != 2) {
      throw ImageException.bad(
          what + ": schemaVersion " + sv + " is not supported (Docker schema 1 images are"
              + " obsolete; re-push the image with a current client)");
    }
    String mt = Json.optText(n, "mediaType", what);
    if (mt == null) {
      mt = n.has("manifests") ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
    }
    if (MediaTypes.INDEXES.contains(mt)) {
      return ImageIndex.fromJson(mt, n, what);
    }
    if (MediaTypes.MANIFESTS.contains(mt)) {
      return Manifest.fromJson(mt, n, what);
    }
    throw ImageException.bad(what + ": unsupported media type " + mt);
  }
}

package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;

/** The os/architecture pair of an index entry or config. Only linux/amd64 runs here. */
public record Platform(String os, String architecture, String variant) {
  public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", null);

  static Platform fromJson(JsonNode n, String what) {
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isObject()) {
      throw ImageException.bad(what + ": platform is not an object");
    }
    return new Platform(
        Json.text(n, "os", what + " platform"),
        Json.text(n, "architecture", what + " platform"),
        Json.optText(n, "variant", what + " platform"));
  }

  boolean runsHere() {
    return "linux".equals(os) && "amd64".equals(architecture);
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant == null ? "" : "/" + variant);
  }
}

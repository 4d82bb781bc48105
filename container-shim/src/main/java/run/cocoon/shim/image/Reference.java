package run.cocoon.shim.image;

import java.util.regex.Pattern;

/**
 * An image reference: optional registry host, repository path, and a tag and/or digest.
 * There is no default registry: "busybox:1" is a local name, "127.0.0.1:5000/busybox:1" and
 * "registry.example/busybox:1" name registries. A missing tag means "latest".
 */
public record Reference(String registry, String repository, String tag, Digest digest) {
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern HOST =
      Pattern.compile("(?:[A-Za-z0-9.-]+|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?");
  public static final String DEFAULT_TAG = "latest";

  public static Reference parse(String s) {
    if (s == null || s.isEmpty()) {
      throw ImageException.bad("empty image reference");
    }
    if (s.length() > ImageLimits.MAX_REFERENCE_LENGTH) {
      throw ImageException.bad(
          "image reference is longer than " + ImageLimits.MAX_REFERENCE_LENGTH + " characters");
    }
    String rest = s;
    Digest digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = Digest.parse(rest.substring(at + 1));
      rest = rest.substring(0, at);
    }
    String registry = null;
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        if (!HOST.matcher(first).matches()) {
          throw ImageException.bad("bad registry host '" + first + "' in reference " + s);
        }
        registry = first;
        rest = rest.substring(slash + 1);
      }
    }
    String tag = null;
    int colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
      if (!TAG.matcher(tag).matches()) {
        throw ImageException.bad(
            "bad tag '" + tag + "' in reference " + s + " (letters, digits, '_', '.', '-';"
                + " at most 128)");
      }
    }
    for (String c : rest.split("/", -1)) {
      if (!COMPONENT.matcher(c).matches()) {
        throw ImageException.bad(
            "bad repository name '" + rest + "' in reference " + s
                + " (lowercase letters, digits and separators . _ - between them)");
      }
    }
    if (tag == null && digest == null) {
      tag = DEFAULT_TAG;
    }
    return new Reference(registry, rest, tag, digest);
  }

  /** The repository with its registry host, e.g. "127.0.0.1:5000/library/busybox". */
  public String fullRepository() {
    return registry == null ? repository : registry + "/" + repository;
  }

  /** The name stored in the index: repository plus tag, or plus digest when there is no tag. */
  public String name() {
    return tag != null ? fullRepository() + ":" + tag : fullRepository() + "@" + digest;
  }

  /** What to ask a registry's manifest endpoint for: the digest wins over the tag. */
  public String manifestSelector() {
    return digest != null ? digest.toString() : tag;
  }

  @Override
  public String toString() {
    return fullRepository() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
  }
}

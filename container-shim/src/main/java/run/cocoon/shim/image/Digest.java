package run.cocoon.shim.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** A content digest, "sha256:" plus 64 lowercase hex digits; the only algorithm we accept. */
public record Digest(String hex) implements Comparable<Digest> {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  public Digest {
    if (hex == null || !HEX64.matcher(hex).matches()) {
      throw ImageException.bad("not a sha256 digest (want 64 lowercase hex digits): " + hex);
    }
  }

  /** Parses "sha256:<hex>"; other algorithms are refused rather than trusted unchecked. */
  public static Digest parse(String s) {
    if (s == null || !s.startsWith("sha256:")) {
      throw ImageException.bad(
          "unsupported or malformed digest '" + s + "': only sha256:<64 hex> is accepted");
    }
    return new Digest(s.substring("sha256:".length()));
  }

  public static Digest of(byte[] data) {
    return new Digest(HexFormat.of().formatHex(sha256().digest(data)));
  }

  public static Digest of(MessageDigest finished) {
    return new Digest(HexFormat.of().formatHex(finished.digest()));
  }

  public static Digest ofFile(Path file) throws IOException {
    MessageDigest md = sha256();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return of(md);
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always has SHA-256", e);
    }
  }

  /** A short form for humans: the first 12 hex digits. */
  public String shortHex() {
    return hex.substring(0, 12);
  }

  @Override
  public String toString() {
    return "sha256:" + hex;
  }

  @Override
  public int compareTo(Digest o) {
    return hex.compareTo(o.hex);
  }
}

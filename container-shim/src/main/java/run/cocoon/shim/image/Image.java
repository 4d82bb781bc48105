package run.cocoon.shim.image;

/**
 * A stored image: the name it was resolved from, its manifest digest (the image's identity, and
 * the key of its cached rootfs directory and disk), and the parsed manifest and config.
 */
public record Image(String name, Digest digest, Manifest manifest, ImageConfig config) {

  /** The config blob's digest, which Docker calls the image ID. */
  public Digest configDigest() {
    return manifest.config().digest();
  }

  /** Bytes of the layers as stored (compressed). */
  public long storedSize() {
    long s = 0;
    for (Descriptor l : manifest.layers()) {
      s += l.size();
    }
    return s;
  }
}

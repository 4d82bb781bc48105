package run.cocoon.shim.image;

/**
 * A failure of an image operation, with the kind that decides the CLI exit code. The message says
 * what went wrong and, where possible, how to fix it.
 */
public final class ImageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of failure this is. */
  public enum Kind {
    /** The image, archive, reference or registry answer is malformed or hostile. */
    BAD_INPUT,
    /** The named image, blob or tag does not exist. */
    NOT_FOUND,
    /** A registry, tool or the network is not reachable or refused us. */
    UNAVAILABLE,
    /** Local I/O or an internal failure. */
    FAILURE
  }

  private final Kind kind;

  public ImageException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public ImageException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  static ImageException bad(String message) {
    return new ImageException(Kind.BAD_INPUT, message);
  }

  static ImageException io(String what, java.io.IOException e) {
    return new ImageException(Kind.FAILURE, what + ": " + e, e);
  }
}

package run.cocoon.agent.protocol;

/**
 * A frame or message that breaks the protocol. The peer is untrusted, so these are expected:
 * the receiver replies with an error (when it can tell which request) and keeps serving.
 */
public sealed class ProtocolException extends Exception
    permits ProtocolException.Oversized, ProtocolException.Truncated, ProtocolException.Malformed,
        ProtocolException.Invalid, ProtocolException.UnsupportedVersion {
  private static final long serialVersionUID = 1L;

  ProtocolException(String message) {
    super(message);
  }

  /** The length prefix announces more than {@link ProtocolLimits#FRAME_MAX_BYTES}. */
  public static final class Oversized extends ProtocolException {
    private static final long serialVersionUID = 1L;

    Oversized(long length) {
      super("frame of " + length + " bytes is larger than the limit of "
          + ProtocolLimits.FRAME_MAX_BYTES);
    }
  }

  /** The stream ended inside a frame. */
  public static final class Truncated extends ProtocolException {
    private static final long serialVersionUID = 1L;

    Truncated(long expected, long got) {
      super("connection ended after " + got + " of " + expected + " frame bytes");
    }
  }

  /** Not JSON, or not a message of a known type. */
  public static final class Malformed extends ProtocolException {
    private static final long serialVersionUID = 1L;

    Malformed(String message) {
      super(message);
    }
  }

  /** A well-formed message with a value that is not allowed (bad id, wrong state). */
  public static final class Invalid extends ProtocolException {
    private static final long serialVersionUID = 1L;

    public Invalid(String message) {
      super(message);
    }
  }

  /** The peer speaks another protocol version. */
  public static final class UnsupportedVersion extends ProtocolException {
    private static final long serialVersionUID = 1L;

    UnsupportedVersion(int version) {
      super("protocol version " + version + " is not supported (this side speaks "
          + ProtocolLimits.VERSION + ")");
    }
  }
}

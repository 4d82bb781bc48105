package run.cocoon.agent.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Frames on a byte stream: a 4-byte big-endian payload length, then that many bytes. The length is
 * checked against {@link ProtocolLimits#FRAME_MAX_BYTES} before anything is allocated.
 */
public final class Frames {
  private Frames() {}

  /**
   * Reads one frame's payload.
   *
   * @throws EOFException when the stream ends cleanly between frames
   * @throws ProtocolException.Oversized before reading a payload that is too large
   * @throws ProtocolException.Truncated when the stream ends inside a frame
   */
  public static byte[] read(InputStream in) throws IOException, ProtocolException {
    byte[] header = new byte[4];
    int got = in.readNBytes(header, 0, 4);
    if (got == 0) {
      throw new EOFException("connection closed");
    }
    if (got < 4) {
      throw new ProtocolException.Truncated(4, got);
    }
    long length = ((header[0] & 0xffL) << 24) | ((header[1] & 0xff) << 16)
        | ((header[2] & 0xff) << 8) | (header[3] & 0xff);
    if (length > ProtocolLimits.FRAME_MAX_BYTES) {
      throw new ProtocolException.Oversized(length);
    }
    byte[] payload = in.readNBytes((int) length);
    if (payload.length < length) {
      throw new ProtocolException.Truncated(length, payload.length);
    }
    return payload;
  }

  /** Writes one frame and flushes. Callers serialise writers of one stream. */
  public static void write(OutputStream out, byte[] payload) throws IOException {
    if (payload.length > ProtocolLimits.FRAME_MAX_BYTES) {
      throw new IOException("refusing to send a frame of " + payload.length + " bytes");
    }
    int n = payload.length;
    out.write(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
    out.write(payload);
    out.flush();
  }
}

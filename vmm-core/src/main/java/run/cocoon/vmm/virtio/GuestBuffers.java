package run.cocoon.vmm.virtio;

import java.util.List;
import run.cocoon.vmm.memory.GuestMemory;

/** Copies between host byte arrays and a chain's scattered guest buffers. */
public final class GuestBuffers {
  private GuestBuffers() {}

  /**
   * Reads up to {@code max} bytes from {@code buffers}, starting {@code skip} bytes in, into a new
   * array (shorter when the buffers hold less).
   */
  public static byte[] read(GuestMemory memory, List<Descriptor> buffers, long skip, int max) {
    long available = 0;
    for (Descriptor d : buffers) {
      available += d.length();
    }
    int length = (int) Math.max(0, Math.min(max, available - skip));
    byte[] out = new byte[length];
    int done = 0;
    long toSkip = skip;
    for (Descriptor d : buffers) {
      if (done == length) {
        break;
      }
      if (toSkip >= d.length()) {
        toSkip -= d.length();
        continue;
      }
      int n = (int) Math.min(d.length() - toSkip, length - done);
      memory.read(d.address() + toSkip, out, done, n);
      done += n;
      toSkip = 0;
    }
    return out;
  }

  /**
   * Writes {@code data[offset, offset + length)} into {@code buffers} starting {@code skip} bytes
   * in; returns how many bytes fit.
   */
  public static int write(GuestMemory memory, List<Descriptor> buffers, long skip, byte[] data,
      int offset, int length) {
    int done = 0;
    long toSkip = skip;
    for (Descriptor d : buffers) {
      if (done == length) {
        break;
      }
      if (toSkip >= d.length()) {
        toSkip -= d.length();
        continue;
      }
      int n = (int) Math.min(d.length() - toSkip, length - done);
      memory.write(d.address() + toSkip, data, offset + done, n);
      done += n;
      toSkip = 0;
    }
    return done;
  }

  /** Total bytes of {@code buffers}. */
  public static long length(List<Descriptor> buffers) {
    long total = 0;
    for (Descriptor d : buffers) {
      total += d.length();
    }
    return total;
  }
}

package run.cocoon.shim.lifecycle;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** Copies between a container's streams and the caller's. */
final class Streams {
  private Streams() {}

  /** Copies {@code in} to {@code out} (and {@code log}, if any) until EOF, on its own thread. */
  static Thread pump(String name, InputStream in, OutputStream out, OutputStream log) {
    return Thread.ofPlatform().daemon().name(name).start(() -> {
      byte[] buf = new byte[16384];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
          out.flush();
          if (log != null) {
            synchronized (log) {
              log.write(buf, 0, n);
            }
          }
        }
      } catch (IOException ignored) {
        // the container closed its end
      }
    });
  }

  /** Copies the caller's stdin to the container until EOF, then closes the container's end. */
  static void copyStdin(InputStream from, OutputStream to) {
    Thread.ofPlatform().daemon().name("stdin").start(() -> {
      byte[] buf = new byte[16384];
      try (to) {
        for (int n; (n = from.read(buf)) > 0; ) {
          to.write(buf, 0, n);
          to.flush();
        }
      } catch (IOException ignored) {
        // the container closed its stdin or ended
      }
    });
  }

  /** {@code out}, and {@code log} too when there is one. */
  static OutputStream tee(OutputStream out, OutputStream log) {
    if (log == null) {
      return out;
    }
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        synchronized (log) {
          log.write(b, off, len);
        }
      }

      @Override
      public void flush() throws IOException {
        out.flush();
        synchronized (log) {
          log.flush();
        }
      }
    };
  }
}

package run.cocoon.container;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/** Java streams over pipe fds owned by this library (blocking reads and writes via FFM). */
final class FdStreams {
  private static final int CHUNK = 64 * 1024;

  private FdStreams() {}

  static final class In extends InputStream {
    private static final int EIO = 5;
    private final AtomicInteger fd;
    private final boolean terminal;

    In(int fd) {
      this(fd, false);
    }

    /** With {@code terminal}, EIO (a pty master whose slave side is closed everywhere) is EOF. */
    In(int fd, boolean terminal) {
      this.fd = new AtomicInteger(fd);
      this.terminal = terminal;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      int f = fd.get();
      if (f < 0) {
        return -1;
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment buf = arena.allocate(Math.min(len, CHUNK));
        int n = Sys.read(f, buf, buf.byteSize());
        if (n == 0) {
          return -1;
        }
        MemorySegment.copy(buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, b, off, n);
        return n;
      } catch (NativeCallException e) {
        if (terminal && e.errno() == EIO) {
          return -1;
        }
        throw new IOException(e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      Sys.closeQuietly(fd.getAndSet(-1));
    }
  }

  static final class Out extends OutputStream {
    private final AtomicInteger fd;

    Out(int fd) {
      this.fd = new AtomicInteger(fd);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      int f = fd.get();
      if (f < 0) {
        throw new IOException("stream closed");
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment buf = arena.allocate(Math.max(1, len));
        MemorySegment.copy(b, off, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, len);
        Sys.writeFully(f, buf, len);
      } catch (NativeCallException e) {
        throw new IOException(e.getMessage(), e);
      }
    }

    @Override
    public void close() {
      Sys.closeQuietly(fd.getAndSet(-1));
    }
  }
}

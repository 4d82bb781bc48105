package run.cocoon.agent.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import run.cocoon.agent.protocol.Connection;

/**
 * One connected stream socket (AF_VSOCK in the guest; AF_UNIX for the AOT training run and tests,
 * through the very same code) as a pair of blocking streams: the protocol server's
 * {@link Connection}.
 *
 * <p>Threads: one thread may read while another writes; concurrent readers (or writers) are
 * serialized. Platform and virtual threads may both use it: the socket is non-blocking, and a
 * read or write that has to wait does so in {@link Readiness}, which parks a virtual thread
 * instead of pinning its carrier in a blocking native call. {@link #close} from any thread wakes
 * a blocked reader (it sees end of stream) and writer.
 */
public final class VsockConnection implements Connection {
  /** Native buffer per direction; a read or write moves at most this much per call. */
  public static final int BUFFER_BYTES = 64 * 1024;

  /** Every connection's socket: a non-blocking stream, closed on exec. */
  static final int SOCKET_TYPE =
      GuestLibc.SOCK_STREAM | GuestLibc.SOCK_CLOEXEC | GuestLibc.SOCK_NONBLOCK;

  private final SocketFd fd;
  private final int peerCid;
  private final int peerPort;
  private final InputStream input = new Input();
  private final OutputStream output = new Output();

  VsockConnection(int fd, int peerCid, int peerPort) {
    this.fd = new SocketFd(fd);
    this.peerCid = peerCid;
    this.peerPort = peerPort;
  }

  /** Connects to {@code cid}:{@code port} over AF_VSOCK (blocking). */
  public static VsockConnection connect(int cid, int port) throws IOException {
    int fd = GuestLibc.socket(GuestLibc.AF_VSOCK, SOCKET_TYPE, 0);
    try (Arena arena = Arena.ofConfined()) {
      GuestLibc.connect(fd, GuestLibc.sockaddrVm(arena, cid, port));
    } catch (SyscallException e) {
      GuestLibc.close(fd);
      throw new SocketException("vsock connect to " + cid + ":" + port + ": " + e.getMessage());
    }
    return new VsockConnection(fd, cid, port);
  }

  /** Connects to a Unix socket at {@code path} (training run and tests). */
  public static VsockConnection connectUnix(String path) throws IOException {
    int fd = GuestLibc.socket(GuestLibc.AF_UNIX, SOCKET_TYPE, 0);
    try (Arena arena = Arena.ofConfined()) {
      GuestLibc.connect(fd, GuestLibc.sockaddrUn(arena, path));
    } catch (SyscallException e) {
      GuestLibc.close(fd);
      throw new SocketException("connect to " + path + ": " + e.getMessage());
    }
    return new VsockConnection(fd, -1, -1);
  }

  /** The peer's context id (2 = the host), or -1 on a Unix socket. */
  public int peerCid() {
    return peerCid;
  }

  /** The peer's port, or -1 on a Unix socket. */
  public int peerPort() {
    return peerPort;
  }

  @Override
  public InputStream input() {
    return input;
  }

  @Override
  public OutputStream output() {
    return output;
  }

  /**
   * Half close: the peer reads end of stream, this side can still read. On a connection that is
   * closed or already reset there is nothing to do: the peer sees end of stream either way.
   */
  @Override
  public void shutdownOutput() {
    try {
      fd.shutdown(GuestLibc.SHUT_WR);
    } catch (ClosedChannelException | SyscallException e) {
      // closed or reset: nothing left to half-close
    }
  }

  /** Idempotent; wakes threads blocked in this connection. */
  @Override
  public void close() {
    fd.close(true);
  }

  private static IOException failure(SyscallException e) {
    return e.errno() == Errno.ECONNRESET || e.errno() == Errno.EPIPE
        ? new SocketException("connection reset: " + e.getMessage())
        : new IOException(e.getMessage(), e);
  }

  private final class Input extends InputStream {
    private final ReentrantLock lock = new ReentrantLock();
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER_BYTES);

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      if (len == 0) {
        return 0;
      }
      lock.lock();
      try {
        int descriptor = fd.acquire();
        try {
          MemorySegment into = buffer.asSlice(0, Math.min(len, BUFFER_BYTES));
          long n;
          while ((n = GuestLibc.read(descriptor, into)) < 0) {
            Readiness.await(new int[] {descriptor}, GuestLibc.POLLIN);
          }
          if (n == 0) {
            return -1;
          }
          MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, b, off, (int) n);
          return (int) n;
        } catch (SyscallException e) {
          throw failure(e);
        } finally {
          fd.release();
        }
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      VsockConnection.this.close();
    }
  }

  private final class Output extends OutputStream {
    private final ReentrantLock lock = new ReentrantLock();
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER_BYTES);

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      Objects.checkFromIndexSize(off, len, b.length);
      lock.lock();
      try {
        int descriptor = fd.acquire();
        try {
          int done = 0;
          while (done < len) {
            int chunk = Math.min(len - done, BUFFER_BYTES);
            MemorySegment.copy(b, off + done, buffer, ValueLayout.JAVA_BYTE, 0, chunk);
            int sent = 0;
            while (sent < chunk) {
              long n = GuestLibc.write(descriptor, buffer.asSlice(sent, chunk - sent));
              if (n < 0) {
                Readiness.await(new int[] {descriptor}, GuestLibc.POLLOUT);
              } else {
                sent += (int) n;
              }
            }
            done += chunk;
          }
        } catch (SyscallException e) {
          throw failure(e);
        } finally {
          fd.release();
        }
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      VsockConnection.this.close();
    }
  }
}

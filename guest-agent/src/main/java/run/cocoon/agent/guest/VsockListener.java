package run.cocoon.agent.guest;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;

/**
 * A listening stream socket: AF_VSOCK on a port of this guest, or (for the AOT training run and
 * tests) a Unix socket, served by exactly the same accept code.
 *
 * <p>{@link #accept} waits (see {@link Readiness}: platform and virtual threads alike) for the
 * socket or an eventfd to become readable; {@link #close} signals the eventfd. That is how a blocked accept is woken: shutdown(2) does not wake accept on a vsock
 * listener (vsock answers ENOTCONN for an unconnected socket), and closing the descriptor under a
 * blocked thread is unsafe (see {@link SocketFd}).
 */
public final class VsockListener implements AutoCloseable {
  /** Connections the kernel queues before {@link #accept} takes them. */
  public static final int BACKLOG = 64;

  private final SocketFd fd;
  private final SocketFd wake;
  private final int family;
  private final String address;

  private VsockListener(int fd, int family, String address) {
    this.fd = new SocketFd(fd);
    this.family = family;
    this.address = address;
    this.wake = new SocketFd(GuestLibc.eventfd(0, GuestLibc.EFD_CLOEXEC | GuestLibc.EFD_NONBLOCK));
  }

  /** Listens on {@code port} of every CID of this machine (in the guest: the guest's CID). */
  public static VsockListener bind(int port) throws IOException {
    int fd = GuestLibc.socket(GuestLibc.AF_VSOCK,
        GuestLibc.SOCK_STREAM | GuestLibc.SOCK_CLOEXEC | GuestLibc.SOCK_NONBLOCK, 0);
    try (Arena arena = Arena.ofConfined()) {
      GuestLibc.bind(fd, GuestLibc.sockaddrVm(arena, GuestLibc.VMADDR_CID_ANY, port));
      GuestLibc.listen(fd, BACKLOG);
    } catch (SyscallException e) {
      GuestLibc.close(fd);
      throw new SocketException("vsock port " + port + ": " + e.getMessage());
    }
    return new VsockListener(fd, GuestLibc.AF_VSOCK, "vsock port " + port);
  }

  /** Listens on a Unix socket at {@code path} (which must not exist yet). */
  public static VsockListener bindUnix(Path path) throws IOException {
    int fd = GuestLibc.socket(GuestLibc.AF_UNIX,
        GuestLibc.SOCK_STREAM | GuestLibc.SOCK_CLOEXEC | GuestLibc.SOCK_NONBLOCK, 0);
    try (Arena arena = Arena.ofConfined()) {
      GuestLibc.bind(fd, GuestLibc.sockaddrUn(arena, path.toString()));
      GuestLibc.listen(fd, BACKLOG);
    } catch (SyscallException | IllegalArgumentException e) {
      GuestLibc.close(fd);
      throw new SocketException(path + ": " + e.getMessage());
    }
    return new VsockListener(fd, GuestLibc.AF_UNIX, path.toString());
  }

  /** Whether this is an AF_VSOCK listener (its connections' peers have a CID). */
  public boolean isVsock() {
    return family == GuestLibc.AF_VSOCK;
  }

  /** What this listens on, for messages: {@code "vsock port 1024"} or a socket path. */
  public String address() {
    return address;
  }

  /**
   * Waits for the next connection.
   *
   * @throws ClosedChannelException when the listener is (or gets) closed
   */
  public VsockConnection accept() throws IOException {
    while (true) {
      int listening = fd.acquire();
      try {
        int wakeFd = wake.acquire();
        try {
          Readiness.await(new int[] {listening, wakeFd}, GuestLibc.POLLIN);
        } finally {
          wake.release();
        }
        if (fd.isClosed()) {
          throw new ClosedChannelException();
        }
        try (Arena arena = Arena.ofConfined()) {
          MemorySegment peer = family == GuestLibc.AF_VSOCK
              ? arena.allocate(GuestLibc.SOCKADDR_VM) : MemorySegment.NULL;
          int conn = GuestLibc.accept4(listening, peer,
              GuestLibc.SOCK_CLOEXEC | GuestLibc.SOCK_NONBLOCK);
          if (conn >= 0) {
            return family == GuestLibc.AF_VSOCK
                ? new VsockConnection(conn, GuestLibc.sockaddrVmCid(peer),
                    GuestLibc.sockaddrVmPort(peer))
                : new VsockConnection(conn, -1, -1);
          }
        } catch (SyscallException e) {
          throw new SocketException(address + ": " + e.getMessage());
        }
      } finally {
        fd.release();
      }
    }
  }

  /** Idempotent; a thread blocked in {@link #accept} wakes with {@link ClosedChannelException}. */
  @Override
  public void close() {
    if (fd.isClosed()) {
      return;
    }
    fd.close(false);
    try (Arena arena = Arena.ofConfined()) {
      int wakeFd = wake.acquire();
      try {
        GuestLibc.write(wakeFd, arena.allocateFrom(ValueLayout.JAVA_LONG, 1L));
      } finally {
        wake.release();
      }
    } catch (ClosedChannelException e) {
      throw new IllegalStateException("wake descriptor closed before its listener", e);
    }
    wake.close(false);
  }
}

package run.cocoon.agent.guest;

import java.nio.channels.ClosedChannelException;

/**
 * A socket descriptor shared by threads that may be blocked in it when another closes it. Closing
 * a descriptor that a thread is blocked on neither wakes that thread nor is safe: the number can be
 * reused by the next open and the blocked call would then act on someone else's file. So
 * {@link #close} shuts the socket down (which wakes blocked readers and writers with end of stream
 * or EPIPE) and the descriptor is closed by whichever user leaves last.
 */
final class SocketFd {
  private final int fd;
  private int users;
  private boolean closed;

  SocketFd(int fd) {
    this.fd = fd;
  }

  /** The descriptor, held until {@link #release}; fails once {@link #close} was called. */
  synchronized int acquire() throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
    users++;
    return fd;
  }

  synchronized void release() {
    users--;
    if (closed && users == 0) {
      GuestLibc.close(fd);
    }
  }

  synchronized boolean isClosed() {
    return closed;
  }

  /** Shuts down one direction without closing (half close). */
  synchronized void shutdown(int how) throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
    GuestLibc.shutdown(fd, how);
  }

  /** Idempotent. Wakes blocked users; the descriptor is closed when the last one leaves. */
  synchronized void close(boolean shutdownFirst) {
    if (closed) {
      return;
    }
    closed = true;
    if (users == 0) {
      GuestLibc.close(fd);
    } else if (shutdownFirst) {
      GuestLibc.shutdown(fd, GuestLibc.SHUT_RDWR);
    }
  }
}

package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An eventfd(2) counter: the signalling primitive of irqfd (host -> guest interrupt) and ioeventfd
 * (guest write -> host notification without a vCPU exit to user space).
 */
public final class EventFd implements AutoCloseable {
  private final OwnedFd fd;

  private EventFd(int fd) {
    this.fd = new OwnedFd(fd);
  }

  /** A blocking eventfd with close-on-exec. */
  public static EventFd create() {
    return new EventFd(Libc.eventfd(0, Libc.EFD_CLOEXEC));
  }

  /** A non-blocking eventfd with close-on-exec: {@link #read()} returns 0 when nothing was signalled. */
  public static EventFd createNonBlocking() {
    return new EventFd(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
  }

  /** The raw descriptor, for registering with KVM or an event loop. */
  public int fd() {
    return fd.get();
  }

  /** Adds {@code value} to the counter. */
  public void write(long value) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(JAVA_LONG);
      buf.set(JAVA_LONG, 0, value);
      long n;
      do {
        n = Libc.write(fd.get(), buf);
      } while (n == -Errno.EINTR);
      if (n != 8) {
        throw new SyscallException("write(eventfd)", n < 0 ? (int) -n : Errno.EIO);
      }
    }
  }

  /**
   * Reads and resets the counter. Blocks on a blocking eventfd; on a non-blocking one returns 0
   * when the counter is zero.
   */
  public long read() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(JAVA_LONG);
      long n;
      do {
        n = Libc.read(fd.get(), buf);
      } while (n == -Errno.EINTR);
      if (n == -Errno.EAGAIN) {
        return 0;
      }
      if (n != 8) {
        throw new SyscallException("read(eventfd)", Errno.EIO, "short read of " + n + " bytes");
      }
      return buf.get(JAVA_LONG, 0);
    }
  }

  @Override
  public void close() {
    fd.close();
  }
}

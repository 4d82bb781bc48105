package run.cocoon.kvm;

import java.lang.foreign.MemorySegment;

/**
 * A file descriptor owned by one binding object. After {@link #close()} the number becomes -1, so
 * a later call fails with EBADF from the kernel instead of hitting whatever file reused the number.
 */
final class OwnedFd implements AutoCloseable {
  private volatile int fd;

  OwnedFd(int fd) {
    this.fd = fd;
  }

  int get() {
    return fd;
  }

  int ioctl(KvmIoctl ioctl, long arg) {
    return Libc.ioctl(fd, ioctl.name(), ioctl.request(), arg);
  }

  int ioctl(KvmIoctl ioctl, MemorySegment arg) {
    return Libc.ioctl(fd, ioctl.name(), ioctl.request(), arg);
  }

  @Override
  public void close() {
    int old = fd;
    fd = -1;
    if (old >= 0) {
      Libc.close(old);
    }
  }
}

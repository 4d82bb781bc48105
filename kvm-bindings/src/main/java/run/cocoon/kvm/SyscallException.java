package run.cocoon.kvm;

/**
 * The one failure type of the bindings: a system call, ioctl or libc call returned an error.
 * It names the call (for ioctls, the KVM ioctl's name) and carries the errno, so the VMM can
 * decide policy (retry on {@code EINTR}/{@code EAGAIN}, stop otherwise) without parsing text.
 */
public final class SyscallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String call;
  private final int errno;

  public SyscallException(String call, int errno) {
    this(call, errno, null);
  }

  public SyscallException(String call, int errno, String detail) {
    super(call + " failed: " + Errno.describe(errno) + (detail == null ? "" : " (" + detail + ")"));
    this.call = call;
    this.errno = errno;
  }

  /** The failing call, e.g. {@code "KVM_SET_USER_MEMORY_REGION"} or {@code "mmap"}. */
  public String call() {
    return call;
  }

  /** The errno value the call left. */
  public int errno() {
    return errno;
  }

  /** The symbolic errno name, e.g. {@code "EINVAL"}, or {@code "errno 123"} for rare ones. */
  public String errnoName() {
    return Errno.name(errno);
  }
}

package run.cocoon.agent.guest;

/**
 * A libc call of {@link GuestLibc} failed. It names the call and carries the errno, so callers
 * decide policy (skip an already mounted file system, treat a reset peer as end of stream)
 * without parsing text.
 */
public final class SyscallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String call;
  private final int errno;

  public SyscallException(String call, int errno, String detail) {
    super(call + " failed: " + Errno.name(errno) + (detail == null ? "" : " (" + detail + ")"));
    this.call = call;
    this.errno = errno;
  }

  /** The failing call, e.g. {@code "mount"} or {@code "SIOCSIFFLAGS"}. */
  public String call() {
    return call;
  }

  /** The errno value the call left. */
  public int errno() {
    return errno;
  }
}

package run.cocoon.container;

/** A libc call made from Java failed; carries the call's name and errno. */
public final class NativeCallException extends ContainerException {
  private static final long serialVersionUID = 1L;

  private final String call;
  private final int errno;

  public NativeCallException(String call, int errno) {
    super(call + " failed: " + Errnos.describe(errno));
    this.call = call;
    this.errno = errno;
  }

  public String call() {
    return call;
  }

  public int errno() {
    return errno;
  }
}

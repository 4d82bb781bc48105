package run.cocoon.container;

/** A cgroup could not be created, configured, read or removed. */
public final class CgroupException extends ContainerException {
  private static final long serialVersionUID = 1L;

  public CgroupException(String message) {
    super(message);
  }

  public CgroupException(String message, Throwable cause) {
    super(message, cause);
  }
}

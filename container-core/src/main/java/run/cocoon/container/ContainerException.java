package run.cocoon.container;

/** Every failure of the container library: bad input, a failed spawn step, a cgroup problem. */
public sealed class ContainerException extends RuntimeException
    permits InvalidSpecException, SpawnException, NativeCallException, CgroupException {
  private static final long serialVersionUID = 1L;

  public ContainerException(String message) {
    super(message);
  }

  public ContainerException(String message, Throwable cause) {
    super(message, cause);
  }
}

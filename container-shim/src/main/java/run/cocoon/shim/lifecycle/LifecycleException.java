package run.cocoon.shim.lifecycle;

/**
 * A lifecycle request that cannot be carried out as asked: no such container, one that exists
 * already, one in the wrong state, an agent that does not answer. The message is for the user
 * (and for engines that match runc's words, such as "container does not exist").
 */
public final class LifecycleException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LifecycleException(String message) {
    super(message);
  }

  public LifecycleException(String message, Throwable cause) {
    super(message, cause);
  }
}

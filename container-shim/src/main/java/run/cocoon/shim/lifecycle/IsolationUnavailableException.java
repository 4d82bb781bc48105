package run.cocoon.shim.lifecycle;

/** The chosen isolation cannot run on this host or in this build. */
public final class IsolationUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public IsolationUnavailableException(String message) {
    super(message);
  }
}

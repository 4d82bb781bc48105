package run.cocoon.container.seccomp;

/** A seccomp profile that cannot be applied exactly as written; the message says why. */
public final class SeccompException extends RuntimeException {
  public SeccompException(String message) {
    super(message);
  }
}

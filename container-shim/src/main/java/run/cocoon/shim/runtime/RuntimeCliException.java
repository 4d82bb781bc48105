package run.cocoon.shim.runtime;

/** A failure reported as runc reports it: one message line, exit status 1. */
final class RuntimeCliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  RuntimeCliException(String message) {
    super(message);
  }
}

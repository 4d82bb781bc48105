package run.cocoon.shim.cli;

/**
 * Stable exit codes of the {@code cocoon} command. A container's own exit status is passed through
 * unchanged by commands that run containers; these codes are for cocoon's own failures.
 */
public final class ExitCodes {
  /** Success. */
  public static final int OK = 0;
  /** Bad command line (picocli's convention). */
  public static final int USAGE = 2;
  /** The host lacks something cocoon needs (no /dev/kvm, no JDK, missing tool). */
  public static final int UNAVAILABLE = 69;
  /** Input rejected: a malformed image, bundle, kernel or config. */
  public static final int BAD_INPUT = 65;
  /** An internal or I/O failure. */
  public static final int FAILURE = 70;

  private ExitCodes() {}
}

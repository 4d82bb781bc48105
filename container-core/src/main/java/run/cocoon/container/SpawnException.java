package run.cocoon.container;

/**
 * The helper reported that a plan step failed: which step (and which plan operation, counted
 * from 1), and the errno. Example: {@code mount (plan op 7) failed: ENOENT}. Where the failure
 * means something in the container's own terms (a command not found, a missing working
 * directory) that comes first: {@code executable file 'foo' not found in the container's PATH
 * (/usr/bin:/bin) (execve, plan op 70, failed: ENOENT)}.
 */
public final class SpawnException extends ContainerException {
  private static final long serialVersionUID = 1L;

  private final String step;
  private final int errno;
  private final int opIndex;

  public SpawnException(String step, int errno, int opIndex, String detail) {
    this(step, errno, opIndex, detail, null);
  }

  SpawnException(String step, int errno, int opIndex, String detail, String headline) {
    super(headline != null
        ? headline + " (" + step + ", plan op " + opIndex + ", failed: " + Errnos.describe(errno) + ")"
        : step + " (plan op " + opIndex + (detail == null ? "" : ": " + detail) + ") failed: "
            + Errnos.describe(errno));
    this.step = step;
    this.errno = errno;
    this.opIndex = opIndex;
  }

  /** The failed step's name, e.g. {@code "mount"}, {@code "execve"}, {@code "setresuid"}. */
  public String step() {
    return step;
  }

  public int errno() {
    return errno;
  }

  /** The plan operation that failed, counted from 1 (0 when outside the plan). */
  public int opIndex() {
    return opIndex;
  }
}

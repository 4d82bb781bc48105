package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * Host process facts read from /proc, for callers that track a process across separate program
 * runs (a runc-style CLI): a pid alone may be reused, a pid plus its start time (field 22 of
 * {@code /proc/<pid>/stat}, clock ticks since boot) names one process.
 */
public final class HostProcesses {
  private HostProcesses() {}

  /** The process's start time, or empty if it does not exist. */
  public static OptionalLong startTime(int pid) {
    String[] f = statFields(pid);
    return f == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(f[19]));
  }

  /** True if {@code pid} is the process that started at {@code startTime} and has not ended. */
  public static boolean isAlive(int pid, long startTime) {
    String[] f = statFields(pid);
    return f != null && Long.parseLong(f[19]) == startTime && !f[0].equals("Z") && !f[0].equals("X");
  }

  /** Waits until the process is gone (or a zombie); false on timeout. */
  public static boolean awaitExit(int pid, long startTime, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (isAlive(pid, startTime)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /**
   * Makes this process a child subreaper: orphaned descendants (a detached container whose
   * relay left) become its children instead of init's. See {@link #reap(int)}.
   */
  public static void becomeSubreaper() {
    Sys.setChildSubreaper();
  }

  /** Waits for {@code pid}, a child of this process (or adopted as its subreaper), and reaps it. */
  public static ExitStatus waitForChild(int pid) {
    return ExitStatus.fromWaitStatus(Sys.waitpid(pid), false);
  }

  /** Reaps {@code pid} if it is an ended child of this process; returns whether it did. */
  public static boolean reap(int pid) {
    return Sys.waitpidNoHang(pid) != -1;
  }

  /** Fields of /proc/pid/stat after the command name: [0] is the state, [19] the start time. */
  private static String[] statFields(int pid) {
    if (pid <= 0) {
      return null;
    }
    try {
      String s = ProcFiles.read(Path.of("/proc/" + pid + "/stat"));
      int close = s.lastIndexOf(')');
      String[] f = s.substring(close + 2).trim().split(" ");
      return f.length > 19 ? f : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}

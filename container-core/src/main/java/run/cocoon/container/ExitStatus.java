package run.cocoon.container;

/** How a container process ended. */
public sealed interface ExitStatus {
  /** Whether the cgroup's OOM killer fired while the container ran. */
  boolean oomKilled();

  /** The shell's convention: the exit code, or 128 + signal. */
  int shellCode();

  record Exited(int code, boolean oomKilled) implements ExitStatus {
    public int shellCode() {
      return code;
    }
  }

  record Signaled(int signal, boolean oomKilled) implements ExitStatus {
    public int shellCode() {
      return 128 + signal;
    }
  }

  /** Decodes a raw wait(2) status. */
  static ExitStatus fromWaitStatus(int status, boolean oomKilled) {
    int sig = status & 0x7f;
    if (sig == 0) {
      return new Exited((status >> 8) & 0xff, oomKilled);
    }
    return new Signaled(sig, oomKilled);
  }

  default ExitStatus withOomKilled(boolean oom) {
    return switch (this) {
      case Exited e -> new Exited(e.code(), oom);
      case Signaled s -> new Signaled(s.signal(), oom);
    };
  }
}

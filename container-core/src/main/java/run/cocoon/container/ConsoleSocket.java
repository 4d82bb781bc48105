package run.cocoon.container;

/**
 * The OCI runtime console socket (runc's {@code --console-socket}): the runtime creates the
 * container's pty and hands the master side to whoever listens on a Unix socket (conmon), with
 * SCM_RIGHTS, then closes its own copy.
 */
public final class ConsoleSocket {
  /** A pty pair: the master for the console socket, the slave as the container's stdio. */
  public record Pty(int master, int slave) implements AutoCloseable {
    @Override
    public void close() {
      Sys.closeQuietly(master);
      Sys.closeQuietly(slave);
    }
  }

  private ConsoleSocket() {}

  /** Opens a pty pair (both close-on-exec) of the given size. */
  public static Pty openPty(int rows, int cols) {
    int[] p = Sys.openPty(rows, cols);
    return new Pty(p[0], p[1]);
  }

  /** Sends {@code fd} over the Unix socket at {@code socketPath}. */
  public static void send(String socketPath, int fd) {
    Sys.sendFd(socketPath, fd, "/dev/ptmx");
  }
}

package run.cocoon.container;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;

/**
 * The OCI runtime console socket (runc's {@code --console-socket}): the runtime creates the
 * container's pty and hands the master side to whoever listens on a Unix socket (conmon), with
 * SCM_RIGHTS, then closes its own copy. {@link Listener} is that listening side, for a caller
 * that wants its container's terminal to be a pty of the container's own devpts, as runc gives.
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

  /**
   * A console socket of our own. Bind it, create the container with
   * {@code Stdio.consoleSocket(listener.path())} (the container process connects and sends its
   * pty master before it reports ready, so the connection is waiting once create returns), then
   * {@link #receive} the master.
   */
  public static final class Listener implements AutoCloseable {
    private final Path path;
    private final int fd;

    private Listener(Path path, int fd) {
      this.path = path;
      this.fd = fd;
    }

    /** Listens at {@code path}, which must not exist; the socket file is removed on close. */
    public static Listener bind(Path path) {
      return new Listener(path, Sys.listenUnix(path.toString()));
    }

    public String path() {
      return path.toString();
    }

    /** The pty master the container sent, sized {@code rows} x {@code cols}. */
    public Terminal receive(int rows, int cols) {
      int master = Sys.receiveFd(fd);
      try {
        Sys.setWindowSize(master, rows, cols);
        return new Terminal(master);
      } catch (RuntimeException e) {
        Sys.closeQuietly(master);
        throw e;
      }
    }

    @Override
    public void close() {
      Sys.closeQuietly(fd);
      try {
        java.nio.file.Files.deleteIfExists(path);
      } catch (java.io.IOException ignored) {
        // a stale socket file names nothing; the directory goes with the container
      }
    }
  }

  /**
   * A container's terminal, seen from its master side: what the container writes is read from
   * {@link #output()}, what is written to {@link #input()} is the container's keyboard. Closing
   * both streams closes the master.
   */
  public static final class Terminal {
    private final InputStream output;
    private final OutputStream input;

    Terminal(int master) {
      this.input = new FdStreams.Out(Sys.dup(master));
      this.output = new FdStreams.In(master, true);
    }

    public InputStream output() {
      return output;
    }

    public OutputStream input() {
      return input;
    }
  }
}

package run.cocoon.container;

/**
 * Where a container process's stdin, stdout and stderr go.
 * {@link Pipes}: the library creates pipes and the caller reads and writes them as streams
 * ({@link ContainerProcess#stdin()}, {@link ContainerProcess#stdout()}, ...).
 * {@link Fds}: the caller hands over open file descriptors (the library does not close them).
 * {@link Terminal}: a new pseudo-terminal whose slave side is the process's stdin, stdout,
 * stderr and controlling terminal; the caller gets the master side as {@link ContainerProcess#stdin()}
 * and {@link ContainerProcess#stdout()} (stderr is merged). Needs {@code process.terminal: true}.
 * {@link ConsoleSocket}: runc's {@code --console-socket}: the container process makes a pty in its
 * own devpts (so {@code ttyname} works inside), sends the master to the Unix socket at
 * {@code path} and uses the slave as stdio. Needs {@code process.terminal: true} and a devpts
 * mount; create only.
 */
public sealed interface Stdio {
  record Pipes() implements Stdio {}

  record Fds(int stdin, int stdout, int stderr) implements Stdio {}

  record Terminal(int rows, int cols) implements Stdio {
    public Terminal {
      if (rows < 1 || rows > 0xffff || cols < 1 || cols > 0xffff) {
        throw new IllegalArgumentException("terminal size " + rows + "x" + cols);
      }
    }
  }

  record ConsoleSocket(String path) implements Stdio {
    public ConsoleSocket {
      if (path.isEmpty() || path.indexOf(0) >= 0 || path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= Sys.SUN_PATH_BYTES) {
        throw new IllegalArgumentException("console socket path '" + path + "' is empty or too long");
      }
    }
  }

  static Stdio consoleSocket(String path) {
    return new ConsoleSocket(path);
  }

  static Stdio pipes() {
    return new Pipes();
  }

  static Stdio terminal(int rows, int cols) {
    return new Terminal(rows, cols);
  }

  static Stdio fds(int stdin, int stdout, int stderr) {
    return new Fds(stdin, stdout, stderr);
  }
}

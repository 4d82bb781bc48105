package run.cocoon.container;

/**
 * Where a container process's stdin, stdout and stderr go.
 * {@link Pipes}: the library creates pipes and the caller reads and writes them as streams
 * ({@link ContainerProcess#stdin()}, {@link ContainerProcess#stdout()}, ...).
 * {@link Fds}: the caller hands over open file descriptors (the library does not close them).
 * {@link Terminal}: a new pseudo-terminal whose slave side is the process's stdin, stdout,
 * stderr and controlling terminal; the caller gets the master side as {@link ContainerProcess#stdin()}
 * and {@link ContainerProcess#stdout()} (stderr is merged). Needs {@code process.terminal: true}.
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

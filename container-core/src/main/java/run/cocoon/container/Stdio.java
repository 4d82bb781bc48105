package run.cocoon.container;

/**
 * Where a container process's stdin, stdout and stderr go.
 * {@link Pipes}: the library creates pipes and the caller reads and writes them as streams
 * ({@link ContainerProcess#stdin()}, {@link ContainerProcess#stdout()}, ...).
 * {@link Fds}: the caller hands over open file descriptors (the library does not close them).
 * Terminals (a pty as controlling terminal) are not implemented yet.
 */
public sealed interface Stdio {
  record Pipes() implements Stdio {}

  record Fds(int stdin, int stdout, int stderr) implements Stdio {}

  static Stdio pipes() {
    return new Pipes();
  }

  static Stdio fds(int stdin, int stdout, int stderr) {
    return new Fds(stdin, stdout, stderr);
  }
}

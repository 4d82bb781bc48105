package run.cocoon.shim.lifecycle;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The user's terminal for {@code cocoon run -t}: its size, and raw mode (no echo, no line
 * editing, no signal keys: ^C reaches the container through its pty) set with {@code stty} on
 * /dev/tty and restored on close.
 */
final class Terminal {
  private static final File TTY = new File("/dev/tty");

  private Terminal() {}

  static int rows() {
    return size(0, 24);
  }

  static int cols() {
    return size(1, 80);
  }

  private static int size(int index, int fallback) {
    try {
      String[] f = stty("size").trim().split("\\s+");
      int v = Integer.parseInt(f[index]);
      return v > 0 ? v : fallback;
    } catch (IOException | RuntimeException e) {
      return fallback;
    }
  }

  private static String stty(String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of("stty"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectInput(TTY).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("stty " + String.join(" ", args) + ": " + out.trim());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }

  /** Raw mode until closed; a no-op when there is no terminal. */
  static Raw raw() {
    if (System.console() == null) {
      return new Raw(null);
    }
    try {
      String saved = stty("-g").trim();
      stty("raw", "-echo");
      return new Raw(saved);
    } catch (IOException e) {
      return new Raw(null);
    }
  }

  record Raw(String saved) implements AutoCloseable {
    @Override
    public void close() {
      if (saved != null) {
        try {
          stty(saved);
        } catch (IOException ignored) {
          // nothing better to do than leave it
        }
      }
    }
  }
}

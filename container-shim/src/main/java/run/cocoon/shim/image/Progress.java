package run.cocoon.shim.image;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pull progress: a redrawn bar on a terminal, one plain line per event otherwise (logs and CI
 * output stay readable), or nothing.
 */
public sealed interface Progress permits Progress.Silent, Progress.Lines, Progress.Bar {

  void start(Digest blob, long total);

  void advance(Digest blob, long bytes);

  void done(Digest blob);

  void message(String line);

  /** All downloads ended (done or failed): a bar ends its line. */
  default void finish() {}

  static Progress silent() {
    return new Silent();
  }

  /** A bar when stderr is likely a terminal, lines otherwise. */
  static Progress forStderr() {
    var c = System.console();
    boolean tty = c != null && c.isTerminal() && !"dumb".equals(System.getenv("TERM"));
    return tty ? new Bar(System.err) : new Lines(System.err);
  }

  static String mib(long b) {
    return String.format("%.1f MiB", b / 1048576.0);
  }

  /** Reports nothing. */
  record Silent() implements Progress {
    @Override
    public void start(Digest blob, long total) {}

    @Override
    public void advance(Digest blob, long bytes) {}

    @Override
    public void done(Digest blob) {}

    @Override
    public void message(String line) {}
  }

  /** A line when a blob starts and when it is done. */
  record Lines(PrintStream out) implements Progress {
    @Override
    public void start(Digest blob, long total) {
      out.println("pulling " + blob.shortHex() + " (" + mib(total) + ")");
    }

    @Override
    public void advance(Digest blob, long bytes) {}

    @Override
    public void done(Digest blob) {
      out.println("done    " + blob.shortHex());
    }

    @Override
    public void message(String line) {
      out.println(line);
    }
  }

  /** One line redrawn at most every REDRAW_NANOS: bytes done of total over all blobs. */
  final class Bar implements Progress {
    static final long REDRAW_NANOS = 100_000_000L;
    static final int WIDTH = 30;
    private final PrintStream out;
    private final Map<Digest, long[]> blobs = new LinkedHashMap<>();
    private long lastDraw;
    private boolean drawn;

    Bar(PrintStream out) {
      this.out = out;
    }

    @Override
    public synchronized void start(Digest blob, long total) {
      blobs.put(blob, new long[] {0, total});
      draw(true);
    }

    @Override
    public synchronized void advance(Digest blob, long bytes) {
      long[] b = blobs.get(blob);
      if (b != null) {
        b[0] += bytes;
      }
      draw(false);
    }

    @Override
    public synchronized void done(Digest blob) {
      long[] b = blobs.get(blob);
      if (b != null) {
        b[0] = b[1];
      }
      draw(true);
    }

    @Override
    public synchronized void message(String line) {
      out.print("\r\033[K");
      out.println(line);
      if (!blobs.isEmpty()) {
        draw(true);
      }
    }

    private void draw(boolean force) {
      long now = System.nanoTime();
      if (!force && now - lastDraw < REDRAW_NANOS) {
        return;
      }
      lastDraw = now;
      long done = 0;
      long total = 0;
      for (long[] b : blobs.values()) {
        done += b[0];
        total += b[1];
      }
      int filled = total == 0 ? WIDTH : (int) Math.min(WIDTH, done * WIDTH / total);
      out.print("\r\033[K[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] "
          + mib(done) + " / " + mib(total));
      out.flush();
      drawn = true;
    }

    @Override
    public synchronized void finish() {
      if (drawn) {
        draw(true);
        out.println();
        drawn = false;
      }
    }
  }
}

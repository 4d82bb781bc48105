package run.cocoon.vmm.devices;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A warning channel a guest cannot flood: at most {@link #MESSAGES_PER_WINDOW} messages per
 * {@link #WINDOW_NANOS}; the rest are counted and reported once the window has passed.
 */
public final class RateLimitedLog {
  /** Messages allowed per window. */
  public static final int MESSAGES_PER_WINDOW = 10;
  /** Window length: one second. */
  public static final long WINDOW_NANOS = 1_000_000_000L;

  private final System.Logger logger;
  private final AtomicLong windowStart = new AtomicLong(System.nanoTime());
  private final AtomicLong inWindow = new AtomicLong();
  private final AtomicLong suppressed = new AtomicLong();

  public RateLimitedLog(String name) {
    this.logger = System.getLogger(name);
  }

  /** Logs {@code message} unless this window's budget is spent. */
  public void warn(String message) {
    long now = System.nanoTime();
    long start = windowStart.get();
    if (now - start > WINDOW_NANOS && windowStart.compareAndSet(start, now)) {
      inWindow.set(0);
      long dropped = suppressed.getAndSet(0);
      if (dropped > 0) {
        logger.log(Level.WARNING, dropped + " similar messages suppressed");
      }
    }
    if (inWindow.incrementAndGet() <= MESSAGES_PER_WINDOW) {
      logger.log(Level.WARNING, message);
    } else {
      suppressed.incrementAndGet();
    }
  }

  /** Messages suppressed in the current window so far. */
  public long suppressed() {
    return suppressed.get();
  }
}

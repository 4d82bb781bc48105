package run.cocoon.agent.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Time since the kernel started, from {@code /proc/uptime} (10 ms resolution). */
public final class Uptime {
  private Uptime() {}

  /** Milliseconds since boot, or -1 when {@code /proc} is not mounted. */
  public static long millis() {
    try {
      return parseMillis(Files.readString(Path.of("/proc/uptime")));
    } catch (IOException e) {
      return -1;
    }
  }

  /** The first field of {@code /proc/uptime} ("12.34 ...") or a bare "12.34", in milliseconds. */
  public static long parseMillis(String text) {
    String seconds = text.strip().split("\\s+")[0];
    return Math.round(Double.parseDouble(seconds) * 1000);
  }
}

package run.cocoon.shim.cli;

import java.time.Duration;
import java.time.Instant;

/** Where a command's time went, for {@code -Dcocoon.timing=true}: JVM start-up versus our work. */
final class Timing {
  private Timing() {}

  /**
   * One line: process start to {@code main} (the JVM's share; the process start time has the
   * kernel's clock-tick granularity), {@code main} to the VM built, and VM built to its end.
   */
  static String line(long mainNanos, long createdNanos) {
    long now = System.nanoTime();
    long jvmMillis = ProcessHandle.current().info().startInstant()
        .map(start -> Duration.between(start, Instant.now()).toMillis()
            - (now - mainNanos) / 1_000_000)
        .orElse(-1L);
    return "cocoon: timing jvm-start=" + jvmMillis + "ms vm-create="
        + (createdNanos - mainNanos) / 1_000_000 + "ms vm-run=" + (now - createdNanos) / 1_000_000
        + "ms";
  }
}

package run.cocoon.vmm.boot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The project's guest kernel, obtained through kernel-config/build-kernel like every other
 * module obtains it: a cached build returns at once; a build in progress is waited for (the
 * script serializes builds with a lock); a machine that cannot build makes the caller skip.
 */
final class GuestKernel {
  /** A cold build takes ~5 minutes on 2 idle cores; leave room for a busy machine. */
  static final long BUILD_TIMEOUT_MINUTES = 30;
  /** build-kernel's exit status for "this machine cannot build". */
  static final int UNAVAILABLE = 3;

  private static Path cached;

  private GuestKernel() {}

  static synchronized Path cacheDir() throws IOException, InterruptedException {
    if (cached != null) {
      return cached;
    }
    Path script = repositoryRoot().resolve("kernel-config/build-kernel");
    skipIf(!Files.isExecutable(script), script + " is missing");
    Path stdout = Files.createTempFile("build-kernel", ".out");
    Path stderr = Files.createTempFile("build-kernel", ".err");
    try {
      Process p = new ProcessBuilder(script.toString()).redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile()).start();
      if (!p.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        skipIf(true, "build-kernel did not finish within " + BUILD_TIMEOUT_MINUTES + " minutes");
      }
      String err = Files.readString(stderr, StandardCharsets.UTF_8).strip();
      skipIf(p.exitValue() == UNAVAILABLE, "this machine cannot build the guest kernel: " + err);
      if (p.exitValue() != 0) {
        throw new AssertionError("build-kernel failed (" + p.exitValue() + "): " + err);
      }
      Path dir = Path.of(Files.readString(stdout, StandardCharsets.UTF_8).strip());
      if (!Files.isRegularFile(dir.resolve("vmlinux")) || !Files.isRegularFile(dir.resolve("bzImage"))) {
        throw new AssertionError("build-kernel printed " + dir + ", which lacks vmlinux or bzImage");
      }
      cached = dir;
      return dir;
    } finally {
      Files.deleteIfExists(stdout);
      Files.deleteIfExists(stderr);
    }
  }

  private static void skipIf(boolean condition, String reason) {
    if (condition) {
      System.out.println("SKIP real-kernel boot tests: " + reason);
    }
    Assumptions.assumeFalse(condition, reason);
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("kernel-config/build-kernel"))) {
      dir = dir.getParent();
    }
    return dir == null ? Path.of("").toAbsolutePath() : dir;
  }
}

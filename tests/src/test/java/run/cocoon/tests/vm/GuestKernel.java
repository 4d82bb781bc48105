package run.cocoon.tests.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import run.cocoon.testbox.BoxScript;

/** Our guest kernel, from the cached build of {@code kernel-config/build-kernel}. */
public final class GuestKernel {
  private static Path dir;
  private static String failure;

  private GuestKernel() {}

  /** The cache directory holding vmlinux and bzImage, or null with {@link #failure()} set. */
  public static synchronized Path directory() {
    if (dir == null && failure == null) {
      Path script = BoxScript.projectRoot().resolve("kernel-config/build-kernel");
      try {
        Process p = new ProcessBuilder(script.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
          failure = script + " failed (exit " + p.exitValue() + ")";
        } else if (!Files.isRegularFile(Path.of(out, "vmlinux"))) {
          failure = script + " printed '" + out + "', which holds no vmlinux";
        } else {
          dir = Path.of(out);
        }
      } catch (IOException | InterruptedException e) {
        failure = "cannot run " + script + ": " + e;
      }
    }
    return dir;
  }

  public static String failure() {
    return failure;
  }
}

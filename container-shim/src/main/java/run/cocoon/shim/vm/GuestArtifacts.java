package run.cocoon.shim.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where the guest kernel and the guest image (initramfs with the agent) are: a system property, an
 * environment variable, or the newest build in the cache ({@code kernel-config/build-kernel} and
 * {@code scripts/build-guest-image} put them there).
 */
public final class GuestArtifacts {
  private GuestArtifacts() {}

  /** The cache root: {@code cocoon.cache}, {@code COCOON_CACHE}, or /var/cache/cocoon. */
  public static Path cache() {
    String p = System.getProperty("cocoon.cache", System.getenv("COCOON_CACHE"));
    return Path.of(p == null || p.isBlank() ? "/var/cache/cocoon" : p);
  }

  /** The guest kernel (vmlinux). */
  public static Path kernel() throws IOException {
    return explicit("cocoon.kernel", "COCOON_KERNEL")
        .or(() -> newest(cache().resolve("kernel"), "vmlinux"))
        .orElseThrow(() -> new IOException("no guest kernel: run kernel-config/build-kernel,"
            + " or set COCOON_KERNEL to a vmlinux"));
  }

  /** The guest image (initramfs with the JRE and the agent). */
  public static Path guestImage() throws IOException {
    return explicit("cocoon.guest-image", "COCOON_GUEST_IMAGE")
        .or(() -> newest(cache().resolve("guest-image"), "initramfs.cpio.zst"))
        .orElseThrow(() -> new IOException("no guest image: run scripts/build-guest-image,"
            + " or set COCOON_GUEST_IMAGE to one"));
  }

  private static Optional<Path> explicit(String property, String env) {
    String p = System.getProperty(property, System.getenv(env));
    return p == null || p.isBlank() ? Optional.empty() : Optional.of(Path.of(p));
  }

  /** The most recently built {@code dir/<key>/name}. */
  private static Optional<Path> newest(Path dir, String name) {
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(d -> d.resolve(name)).filter(Files::isRegularFile)
          .max(Comparator.comparing(GuestArtifacts::modified));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static long modified(Path p) {
    try {
      return Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      return 0;
    }
  }
}

package run.cocoon.agent.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Builds the guest image: a reproducible {@code newc} initramfs holding a jlink'd JRE, the agent
 * and its libraries, an AOT cache recorded from a training run of the agent, the host libraries
 * the JRE loads, busybox, and a {@code /init} that makes the agent's JVM PID 1.
 *
 * <p>Cached by content: the image lands in {@code <cache>/guest-image/<key>/} where the key is
 * the SHA-256 of every input (recipe, JDK, jars, busybox, extra files, host libraries, options);
 * an unchanged set of inputs never rebuilds. Builds are staged beside it and renamed into place,
 * one at a time per key (a file lock), so a killed build never looks complete.
 *
 * <p>Reproducible: entries are sorted, owners, times and inode numbers fixed (see {@link Cpio}),
 * and jlink and the compressors are deterministic; the same inputs give the same bytes, except
 * the AOT cache, which the JVM does not write deterministically (see docs/guest-image.md).
 */
public final class GuestImageBuilder {
  private GuestImageBuilder() {}

  /** How the cpio archive is compressed; our guest kernel unpacks all three. */
  public enum Compression {
    NONE(".cpio"), GZIP(".cpio.gz"), ZSTD(".cpio.zst");

    final String suffix;

    Compression(String suffix) {
      this.suffix = suffix;
    }
  }

  /** A file from the host placed at {@code guestPath} (relative, no leading slash). */
  public record ExtraFile(Path source, String guestPath, int permissions) {
    public ExtraFile {
      if (guestPath.startsWith("/") || guestPath.contains("..") || guestPath.isEmpty()) {
        throw new IllegalArgumentException("guest path must be relative and inside: " + guestPath);
      }
    }
  }

  /**
   * Everything an image is built from.
   *
   * @param jdk a JDK 25 (or later) home to jlink the JRE from
   * @param classpath the agent's jar, then its libraries, in class path order
   * @param busybox a static busybox
   * @param extras more files, e.g. container-core's native helper
   * @param aotCache whether to record and ship the AOT cache
   */
  public record Spec(Path jdk, List<Path> classpath, Path busybox, List<ExtraFile> extras,
      Compression compression, boolean aotCache) {
    public Spec {
      classpath = List.copyOf(classpath);
      extras = List.copyOf(extras);
    }
  }

  /** A built image in the cache. */
  public record Image(Path file, Path directory, String key, boolean cached) {}

  /** The cache root: system property {@code cocoon.cache}, else {@code /var/cache/cocoon}. */
  public static Path cacheRoot() {
    return Path.of(System.getProperty("cocoon.cache", "/var/cache/cocoon"));
  }

  /** Builds the image of {@code spec} under {@code cacheRoot}, or finds it there. */
  public static Image build(Spec spec, Path cacheRoot) throws IOException {
    Path images = cacheRoot.resolve("guest-image");
    Files.createDirectories(images);
    String key = ImageKey.of(spec);
    Path done = images.resolve(key);
    Path image = done.resolve("initramfs" + spec.compression().suffix);
    if (Files.isRegularFile(image)) {
      return new Image(image, done, key, true);
    }
    try (FileChannel lockFile = FileChannel.open(images.resolve(key + ".lock"),
            StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      if (Files.isRegularFile(image)) {
        return new Image(image, done, key, true); // a concurrent build finished it
      }
      Path work = Files.createTempDirectory(images, "build-" + key.substring(0, 12) + "-");
      try {
        new ImageStaging(spec, work).run();
        Files.move(work.resolve("out"), done, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        throw new IOException("cannot move the built image into " + done, e);
      } finally {
        deleteTree(work);
      }
    }
    return new Image(image, done, key, false);
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /**
   * {@code GuestImageBuilder --jdk DIR --busybox FILE [--compression zstd|gzip|none] [--no-aot]
   * [--extra SRC=GUESTPATH[:MODE]]... [--path-file FILE] [--cache DIR] JAR...}: builds or finds
   * the image, prints its path.
   */
  public static void main(String[] args) throws IOException {
    Path jdk = Path.of(System.getProperty("java.home"));
    Path busybox = Path.of("/bin/busybox");
    Compression compression = Compression.ZSTD;
    boolean aot = true;
    Path pathFile = null;
    Path cache = cacheRoot();
    List<ExtraFile> extras = new ArrayList<>();
    List<Path> jars = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--jdk" -> jdk = Path.of(args[++i]);
        case "--busybox" -> busybox = Path.of(args[++i]);
        case "--compression" -> compression = Compression.valueOf(args[++i].toUpperCase());
        case "--no-aot" -> aot = false;
        case "--path-file" -> pathFile = Path.of(args[++i]);
        case "--cache" -> cache = Path.of(args[++i]);
        case "--extra" -> extras.add(parseExtra(args[++i]));
        case "--classpath" -> {
          for (String entry : args[++i].split(":")) {
            if (!entry.isEmpty()) {
              jars.add(Path.of(entry));
            }
          }
        }
        default -> jars.add(Path.of(args[i]));
      }
    }
    if (jars.isEmpty()) {
      throw new IllegalArgumentException("no agent jar given");
    }
    Image image = build(new Spec(jdk, jars, busybox, extras, compression, aot), cache);
    if (pathFile != null) {
      Files.createDirectories(pathFile.toAbsolutePath().getParent());
      Files.writeString(pathFile, image.file() + "\n");
    }
    System.err.println("cocoon: guest image " + (image.cached() ? "(cached) " : "")
        + image.file() + " (" + Files.size(image.file()) + " bytes)");
    System.out.println(image.file());
  }

  /** {@code SRC=GUESTPATH[:MODE]}, MODE octal (default 0755). */
  static ExtraFile parseExtra(String arg) {
    int eq = arg.indexOf('=');
    if (eq < 0) {
      throw new IllegalArgumentException("--extra wants SRC=GUESTPATH[:MODE]: " + arg);
    }
    String guest = arg.substring(eq + 1);
    int mode = 0755;
    int colon = guest.lastIndexOf(':');
    if (colon >= 0) {
      mode = Integer.parseInt(guest.substring(colon + 1), 8);
      guest = guest.substring(0, colon);
    }
    return new ExtraFile(Path.of(arg.substring(0, eq)), guest, mode);
  }
}

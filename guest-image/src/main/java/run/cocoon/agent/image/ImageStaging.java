package run.cocoon.agent.image;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/** One uncached build: stage a root file system in {@code work/root}, archive it to {@code work/out}. */
record ImageStaging(GuestImageBuilder.Spec spec, Path work) {
  /** Longest time the AOT training run (and jlink) may take. */
  static final long STEP_MINUTES = 10;

  /**
   * zstd level. Unpacking speed hardly depends on it; building time does: on the 64 MB archive,
   * level 9 takes 13 s for 28.3 MB, level 19 over 4 minutes for 26.5 MB (loaded 2-core host).
   */
  static final int ZSTD_LEVEL = 9;

  void run() throws IOException {
    Path root = work.resolve("root");
    Path out = Files.createDirectories(work.resolve("out"));
    StringBuilder log = new StringBuilder();
    long t0 = System.nanoTime();
    jlink(root.resolve(ImageLayout.JRE_DIR), log);
    long tJlink = System.nanoTime();
    List<String> guestClasspath = stageAgent(root);
    stageSystem(root);
    normalizeAttributes(root);
    if (spec.aotCache()) {
      train(root, log);
    }
    long tTrain = System.nanoTime();
    Files.writeString(root.resolve(ImageLayout.JVM_ARGS), jvmArgs(guestClasspath, spec.aotCache()));
    Path image = out.resolve("initramfs" + spec.compression().suffix);
    List<String> contents = archive(root, image);
    long tArchive = System.nanoTime();
    Files.write(out.resolve("contents.txt"), contents);
    log.append(String.format(
        "image %s: %d bytes (%d entries); jlink %d ms, training %d ms, archive %d ms%n",
        image.getFileName(), Files.size(image), contents.size(), millis(t0, tJlink),
        millis(tJlink, tTrain), millis(tTrain, tArchive)));
    Files.writeString(out.resolve("build.log"), log);
  }

  private static long millis(long from, long to) {
    return TimeUnit.NANOSECONDS.toMillis(to - from);
  }

  private void jlink(Path jre, StringBuilder log) throws IOException {
    List<String> command = new ArrayList<>(List.of(spec.jdk().resolve("bin/jlink").toString(),
        "--add-modules", String.join(",", ImageLayout.MODULES)));
    command.addAll(ImageLayout.JLINK_OPTIONS);
    command.addAll(List.of("--output", jre.toString()));
    run(command, log);
  }

  /** The jars under {@link ImageLayout#LIB_DIR}; returns their guest paths in class path order. */
  private List<String> stageAgent(Path root) throws IOException {
    Path lib = Files.createDirectories(root.resolve(ImageLayout.LIB_DIR));
    List<String> guestPaths = new ArrayList<>();
    for (Path jar : spec.classpath()) {
      String name = jar.getFileName().toString();
      if (Files.exists(lib.resolve(name))) {
        throw new IOException("two class path entries named " + name);
      }
      Files.copy(jar, lib.resolve(name));
      guestPaths.add("/" + ImageLayout.LIB_DIR + "/" + name);
    }
    return guestPaths;
  }

  /** busybox, /init, host libraries, extra files, mount points, /etc. */
  private void stageSystem(Path root) throws IOException {
    Path bin = Files.createDirectories(root.resolve("bin"));
    Files.copy(spec.busybox(), bin.resolve("busybox"));
    Files.createSymbolicLink(bin.resolve("sh"), Path.of("busybox"));
    Files.writeString(root.resolve("init"), ImageLayout.INIT);
    executable(root.resolve("init"));
    Path jre = root.resolve(ImageLayout.JRE_DIR);
    for (Path lib : SharedLibraries.of(ImageKey.nativeFiles(jre), jre)) {
      Path target = root.resolve(lib.toString().substring(1));
      Files.createDirectories(target.getParent());
      Files.copy(lib.toRealPath(), target); // the file itself, at the path the loader asks for
    }
    for (GuestImageBuilder.ExtraFile e : spec.extras()) {
      Path target = root.resolve(e.guestPath());
      Files.createDirectories(target.getParent());
      Files.copy(e.source(), target);
    }
    for (String dir : ImageLayout.MOUNT_POINTS) {
      Files.createDirectories(root.resolve(dir));
    }
    Path etc = Files.createDirectories(root.resolve("etc"));
    // The JVM asks for the user's name and home (user.name, user.home).
    Files.writeString(etc.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    Files.writeString(etc.resolve("group"), "root:x:0:\ntty:x:5:\n");
  }

  private static void executable(Path file) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  /**
   * The image's fixed time on every staged file, so that the training run sees what the guest
   * will; permissions 0755 or 0644 by the owner's execute bit, except extra files, which get
   * theirs from the spec (permissions of the sources are not inputs of the key).
   */
  private void normalizeAttributes(Path root) throws IOException {
    FileTime time = FileTime.from(Cpio.MTIME, TimeUnit.SECONDS);
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).toList()) {
        Files.setLastModifiedTime(p, time);
        boolean exec = Files.getPosixFilePermissions(p).contains(PosixFilePermission.OWNER_EXECUTE);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
      }
    }
    for (GuestImageBuilder.ExtraFile e : spec.extras()) {
      Files.setPosixFilePermissions(root.resolve(e.guestPath()), FileModes.permissions(e.permissions()));
    }
  }

  /** Runs the agent's training mode on the staged JRE and jars, recording the AOT cache. */
  private void train(Path root, StringBuilder log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(root.resolve(ImageLayout.JRE_DIR).resolve("bin/java").toString());
    command.addAll(ImageLayout.JVM_FLAGS);
    command.add("-XX:AOTCacheOutput=" + root.resolve(ImageLayout.AOT_CACHE));
    command.add("-cp");
    command.add(String.join(":", spec.classpath().stream()
        .map(j -> root.resolve(ImageLayout.LIB_DIR).resolve(j.getFileName().toString()).toString())
        .toList()));
    command.add(ImageLayout.MAIN_CLASS);
    command.add("--train");
    run(command, log);
    if (!Files.isRegularFile(root.resolve(ImageLayout.AOT_CACHE))) {
      throw new IOException("the training run wrote no AOT cache:\n" + log);
    }
    Files.setLastModifiedTime(root.resolve(ImageLayout.AOT_CACHE), FileTime.from(Cpio.MTIME, TimeUnit.SECONDS));
  }

  private static String jvmArgs(List<String> classpath, boolean aot) {
    List<String> args = new ArrayList<>(ImageLayout.JVM_FLAGS);
    if (aot) {
      args.add("-XX:AOTCache=/" + ImageLayout.AOT_CACHE);
    }
    args.add("-cp");
    args.add(String.join(":", classpath));
    return String.join("\n", args) + "\n";
  }

  /** Writes the sorted tree as a compressed cpio; returns one line per entry for contents.txt. */
  private List<String> archive(Path root, Path image) throws IOException {
    List<Path> entries;
    try (Stream<Path> walk = Files.walk(root)) {
      // Sorted by path: a parent is a prefix of its children, so it always comes first.
      entries = walk.filter(p -> !p.equals(root))
          .sorted(Comparator.comparing(p -> root.relativize(p).toString())).toList();
    }
    List<String> contents = new ArrayList<>();
    try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(image), 1 << 16);
        OutputStream compressed = compress(file);
        Cpio cpio = new Cpio(compressed)) {
      boolean consoleWritten = false;
      for (Path p : entries) {
        String name = root.relativize(p).toString();
        if (Files.isSymbolicLink(p)) {
          String target = Files.readSymbolicLink(p).toString();
          cpio.symlink(name, target);
          contents.add(String.format("l %10d %s -> %s", 0, name, target));
        } else if (Files.isDirectory(p)) {
          cpio.directory(name, 0755);
          contents.add(String.format("d %10d %s", 0, name));
        } else {
          int permissions = FileModes.mode(Files.getPosixFilePermissions(p));
          cpio.file(name, permissions, p);
          contents.add(String.format("f %10d %s %s", Files.size(p), name,
              Integer.toOctalString(permissions)));
        }
        if (name.equals("dev")) {
          // The kernel opens /dev/console for init's stdio before anything is mounted.
          cpio.characterDevice("dev/console", 0600, 5, 1);
          contents.add(String.format("c %10d %s", 0, "dev/console 5:1"));
          consoleWritten = true;
        }
      }
      if (!consoleWritten) {
        throw new IllegalStateException("staged tree has no dev directory");
      }
    }
    return contents;
  }

  private OutputStream compress(OutputStream file) throws IOException {
    return switch (spec.compression()) {
      case NONE -> new UnclosedOutputStream(file);
      case GZIP -> new GZIPOutputStream(file, 1 << 16) {
        {
          def.setLevel(Deflater.BEST_COMPRESSION);
        }
      };
      // Single-threaded, so deterministic.
      case ZSTD -> new ZstdOutputStream(file, ZSTD_LEVEL).setChecksum(true);
    };
  }

  private void run(List<String> command, StringBuilder log) throws IOException {
    log.append("$ ").append(String.join(" ", command)).append('\n');
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .directory(work.toFile()).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    log.append(output);
    try {
      if (!p.waitFor(STEP_MINUTES, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException(command.getFirst() + " did not finish in " + STEP_MINUTES + " min");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(command.getFirst() + " failed (exit " + p.exitValue() + "):\n" + output);
    }
  }

  /** Lets the uncompressed archive flush without closing the file twice. */
  static final class UnclosedOutputStream extends java.io.FilterOutputStream {
    UnclosedOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }
}

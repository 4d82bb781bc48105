package run.cocoon.agent.image;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.LinkOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

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
  /** Bump when the image's layout or the build steps change: it is part of the key. */
  static final String RECIPE = "2";

  /**
   * The JRE's modules. {@code jdeps --print-module-deps} over the agent and jackson gives
   * {@code java.base} alone (jackson's uses of java.sql, java.desktop and java.xml are optional and
   * skipped when absent); {@code GuestImageBuilderTest} re-checks it.
   */
  static final List<String> MODULES = List.of("java.base");
  static final List<String> JLINK_OPTIONS = List.of(
      "--strip-debug", "--no-header-files", "--no-man-pages", "--compress=zip-6");

  /**
   * JVM flags of the agent, the same for the training run and in the guest (the AOT cache is only
   * used by a JVM configured like the one that recorded it). Serial GC and C1 only: one agent on
   * one or two vCPUs gains nothing from parallel GC threads or C2's warm-up, and both cost memory.
   * No perf data file ({@code /tmp/hsperfdata_*}) in the guest. Unlike our other JVMs, no
   * {@code --illegal-native-access=deny}: with it, JDK 25 archives no full module graph and so no
   * AOT-linked classes (the cache degrades to plain class data sharing); the image holds no JNI
   * library besides the JDK's own, and JNI from the class path would still be warned about.
   *
   * <p>No AOT adapter caching: JDK 25 turns it on with an AOT cache and stores the i2c/c2i
   * adapters as machine code for the build host's CPU, without checking the CPU that loads them.
   * An image built on an AVX-512 host died of SIGILL in {@code ~AdapterBlob} in a guest without
   * AVX-512. Adapters are generated at start-up instead (cheap); classes, heap objects and profiles
   * in the cache are CPU-independent.
   */
  static final List<String> JVM_FLAGS = List.of(
      "--enable-native-access=ALL-UNNAMED",
      "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
      "-XX:+UnlockDiagnosticVMOptions", "-XX:-AOTAdapterCaching");

  static final String JRE_DIR = "usr/lib/jvm";
  static final String AGENT_DIR = "usr/lib/cocoon";
  static final String LIB_DIR = AGENT_DIR + "/lib";
  static final String AOT_CACHE = AGENT_DIR + "/agent.aot";
  static final String JVM_ARGS = AGENT_DIR + "/jvm.args";
  static final String MAIN_CLASS = "run.cocoon.agent.AgentMain";

  /** Directories that exist before anything is mounted on them. */
  static final List<String> MOUNT_POINTS = List.of("dev", "proc", "sys", "tmp", "run", "root");

  /**
   * The init script: puts the image's tree on a real mount, mounts /proc, notes the uptime,
   * becomes the agent's JVM.
   *
   * <p>The kernel's rootfs (where the initramfs is unpacked) has no parent mount, so nothing can
   * pivot_root away from it (EINVAL), and container runtimes pivot_root into every container's
   * root. So the first pass binds the tree onto a directory of itself, moves that mount over
   * {@code /} and chroots into it, as switch_root does (without deleting anything): the root is
   * then a bind mount whose parent is rootfs. The second pass, in the new root, starts the JVM.
   */
  static final String INIT = """
      #!/bin/busybox sh
      # PID 1 until the exec below: gives the JVM a root it can pivot away from, /proc and its
      # start time, then becomes the agent. cocoon.agent.aot=off on the kernel command line starts
      # the agent without its AOT cache.
      if [ -z "$COCOON_ROOT_MOVED" ]; then
        /bin/busybox mkdir -p /.root
        /bin/busybox mount --bind / /.root
        cd /.root
        /bin/busybox mount --move . /
        export COCOON_ROOT_MOVED=1
        exec /bin/busybox chroot . /init
      fi
      unset COCOON_ROOT_MOVED
      /bin/busybox mount -t proc -o nosuid,nodev,noexec proc /proc
      read -r up rest < /proc/uptime
      read -r cmdline < /proc/cmdline
      aot=
      case " $cmdline " in *" cocoon.agent.aot=off "*) aot=-XX:AOTMode=off ;; esac
      exec /%s/bin/java @/%s $aot -D%s="$up" %s
      """.formatted(JRE_DIR, JVM_ARGS, "cocoon.boot.init-uptime", MAIN_CLASS);

  /**
   * zstd level. Unpacking speed hardly depends on it; building time does: on the 64 MB archive,
   * level 9 takes 13 s for 28.3 MB, level 19 over 4 minutes for 26.5 MB (loaded 2-core host).
   */
  static final int ZSTD_LEVEL = 9;

  /** Longest time the AOT training run (and jlink) may take. */
  static final long STEP_MINUTES = 10;

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
    String key = key(spec);
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
        new Build(spec, work).run();
        Files.move(work.resolve("out"), done, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        throw new IOException("cannot move the built image into " + done, e);
      } finally {
        deleteTree(work);
      }
    }
    return new Image(image, done, key, false);
  }

  /** SHA-256 over every input, as 64 hex digits. */
  static String key(Spec spec) throws IOException {
    MessageDigest d = sha256();
    line(d, "recipe " + RECIPE);
    line(d, "modules " + MODULES + " jlink " + JLINK_OPTIONS + " jvm " + JVM_FLAGS);
    line(d, "init " + INIT);
    line(d, "compression " + spec.compression() + " aot " + spec.aotCache());
    // The JDK is identified by its build (release) and its class and VM images.
    for (String f : List.of("release", "lib/modules", "lib/server/libjvm.so")) {
      line(d, "jdk " + f + " " + hash(spec.jdk().resolve(f)));
    }
    for (Path jar : spec.classpath()) {
      line(d, "jar " + jar.getFileName() + " " + hash(jar));
    }
    line(d, "busybox " + hash(spec.busybox()));
    for (ExtraFile e : spec.extras()) {
      line(d, "extra " + e.guestPath() + " " + Integer.toOctalString(e.permissions()) + " "
          + hash(e.source()));
    }
    // Host libraries of every native file of the JDK: a superset of what the jlink'd JRE needs,
    // known without running jlink, so that a cache hit costs no more than hashing.
    for (Path lib : SharedLibraries.of(nativeFiles(spec.jdk()), spec.jdk())) {
      line(d, "hostlib " + lib + " " + hash(lib));
    }
    return HexFormat.of().formatHex(d.digest());
  }

  /** bin/java and every shared object under lib/ of a Java home. */
  static List<Path> nativeFiles(Path javaHome) throws IOException {
    List<Path> files = new ArrayList<>();
    files.add(javaHome.resolve("bin/java"));
    files.add(javaHome.resolve("lib/jspawnhelper"));
    try (Stream<Path> walk = Files.walk(javaHome.resolve("lib"))) {
      walk.filter(p -> p.getFileName().toString().endsWith(".so")).sorted().forEach(files::add);
    }
    return files.stream().filter(Files::isRegularFile).toList();
  }

  private static void line(MessageDigest d, String s) {
    d.update((s + "\n").getBytes(StandardCharsets.UTF_8));
  }

  static String hash(Path file) throws IOException {
    MessageDigest d = sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      int n;
      while ((n = in.read(buffer)) > 0) {
        d.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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

  /** One uncached build: stage a root file system in {@code work/root}, archive it to {@code work/out}. */
  private record Build(Spec spec, Path work) {
    void run() throws IOException {
      Path root = work.resolve("root");
      Path out = Files.createDirectories(work.resolve("out"));
      StringBuilder log = new StringBuilder();
      long t0 = System.nanoTime();
      jlink(root.resolve(JRE_DIR), log);
      long tJlink = System.nanoTime();
      List<String> guestClasspath = stageAgent(root);
      stageSystem(root);
      normalizeAttributes(root);
      if (spec.aotCache()) {
        train(root, log);
      }
      long tTrain = System.nanoTime();
      Files.writeString(root.resolve(JVM_ARGS), jvmArgs(guestClasspath, spec.aotCache()));
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
          "--add-modules", String.join(",", MODULES)));
      command.addAll(JLINK_OPTIONS);
      command.addAll(List.of("--output", jre.toString()));
      run(command, log);
    }

    /** The jars under {@link #LIB_DIR}; returns their guest paths in class path order. */
    private List<String> stageAgent(Path root) throws IOException {
      Path lib = Files.createDirectories(root.resolve(LIB_DIR));
      List<String> guestPaths = new ArrayList<>();
      for (Path jar : spec.classpath()) {
        String name = jar.getFileName().toString();
        if (Files.exists(lib.resolve(name))) {
          throw new IOException("two class path entries named " + name);
        }
        Files.copy(jar, lib.resolve(name));
        guestPaths.add("/" + LIB_DIR + "/" + name);
      }
      return guestPaths;
    }

    /** busybox, /init, host libraries, extra files, mount points, /etc. */
    private void stageSystem(Path root) throws IOException {
      Path bin = Files.createDirectories(root.resolve("bin"));
      Files.copy(spec.busybox(), bin.resolve("busybox"));
      Files.createSymbolicLink(bin.resolve("sh"), Path.of("busybox"));
      Files.writeString(root.resolve("init"), INIT);
      executable(root.resolve("init"));
      Path jre = root.resolve(JRE_DIR);
      for (Path lib : SharedLibraries.of(nativeFiles(jre), jre)) {
        Path target = root.resolve(lib.toString().substring(1));
        Files.createDirectories(target.getParent());
        Files.copy(lib.toRealPath(), target); // the file itself, at the path the loader asks for
      }
      for (ExtraFile e : spec.extras()) {
        Path target = root.resolve(e.guestPath());
        Files.createDirectories(target.getParent());
        Files.copy(e.source(), target);
      }
      for (String dir : MOUNT_POINTS) {
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
      for (ExtraFile e : spec.extras()) {
        Files.setPosixFilePermissions(root.resolve(e.guestPath()), permissions(e.permissions()));
      }
    }

    /** Runs the agent's training mode on the staged JRE and jars, recording the AOT cache. */
    private void train(Path root, StringBuilder log) throws IOException {
      List<String> command = new ArrayList<>();
      command.add(root.resolve(JRE_DIR).resolve("bin/java").toString());
      command.addAll(JVM_FLAGS);
      command.add("-XX:AOTCacheOutput=" + root.resolve(AOT_CACHE));
      command.add("-cp");
      command.add(String.join(":", spec.classpath().stream()
          .map(j -> root.resolve(LIB_DIR).resolve(j.getFileName().toString()).toString())
          .toList()));
      command.add(MAIN_CLASS);
      command.add("--train");
      run(command, log);
      if (!Files.isRegularFile(root.resolve(AOT_CACHE))) {
        throw new IOException("the training run wrote no AOT cache:\n" + log);
      }
      Files.setLastModifiedTime(root.resolve(AOT_CACHE), FileTime.from(Cpio.MTIME, TimeUnit.SECONDS));
    }

    private static String jvmArgs(List<String> classpath, boolean aot) {
      List<String> args = new ArrayList<>(JVM_FLAGS);
      if (aot) {
        args.add("-XX:AOTCache=/" + AOT_CACHE);
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
            int permissions = mode(Files.getPosixFilePermissions(p));
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
  }

  /** Permission bits as a set (the low nine bits of {@code mode}). */
  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE
    for (int i = 0; i < 9; i++) {
      if ((mode & (0400 >> i)) != 0) {
        set.add(all[i]);
      }
    }
    return set;
  }

  /** The inverse of {@link #permissions}. */
  static int mode(Set<PosixFilePermission> permissions) {
    int mode = 0;
    for (PosixFilePermission p : permissions) {
      mode |= 0400 >> p.ordinal();
    }
    return mode;
  }

  /** Lets the uncompressed archive flush without closing the file twice. */
  private static final class UnclosedOutputStream extends java.io.FilterOutputStream {
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

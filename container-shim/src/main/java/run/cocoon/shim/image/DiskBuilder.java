package run.cocoon.shim.image;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds an image's read-only ext4 disk once with e2fsprogs' {@code mkfs.ext4 -d}, which copies a
 * directory tree into a new file system without mounting anything, then renames it into
 * disks/HEX.ext4. The file system has no journal (it is mounted read-only) and a UUID and hash
 * seed derived from the image digest, so the same image gives the same layout.
 */
public final class DiskBuilder {
  static final String MKFS = "mkfs.ext4";
  /** e2fsprogs' file system debugger: writes single files into a built disk without mounting. */
  static final String DEBUGFS = "debugfs";
  /** Largest file {@link #addFiles} copies into a disk (engines add a few small /etc files). */
  public static final long MAX_ADDED_FILE_BYTES = 1 << 20;
  /** A path component {@link #addFiles} accepts: debugfs parses its commands by spaces. */
  private static final java.util.regex.Pattern COMPONENT =
      java.util.regex.Pattern.compile("[A-Za-z0-9_.+@-]{1,255}");
  static final int BLOCK_SIZE = 4096;
  /** Inode size mkfs uses; counted when sizing. */
  static final int INODE_SIZE = 256;

  private DiskBuilder() {}

  static Path disk(ImageStore store, Image image) {
    Path done = store.disksDir().resolve(image.digest().hex() + ".ext4");
    if (Files.isRegularFile(done, LinkOption.NOFOLLOW_LINKS)) {
      return done;
    }
    Path rootfs = store.rootfsDirectory(image);
    try (StoreLock l = store.lockImage(image.digest());
        Staging st = store.stage()) {
      if (Files.isRegularFile(done, LinkOption.NOFOLLOW_LINKS)) {
        return done;
      }
      Path tmp = st.dir().resolve("disk.ext4");
      build(rootfs, tmp, image.digest());
      Fs.moveAtomically(tmp, done);
      return done;
    } catch (IOException e) {
      throw ImageException.io("cannot build the disk of image " + image.name(), e);
    }
  }

  /**
   * An ext4 disk of any directory tree (a runtime bundle's rootfs), with a fresh UUID: the same
   * builder as image disks, for trees that are not in the store.
   */
  public static void buildFromDirectory(Path dir, Path out) {
    try {
      build(dir, out, Digest.of(java.util.UUID.randomUUID().toString().getBytes(
          java.nio.charset.StandardCharsets.US_ASCII)));
    } catch (IOException e) {
      throw ImageException.io("cannot build a disk of " + dir, e);
    }
  }

  /**
   * Copies host files into a built disk at absolute paths (creating missing directories), then
   * reads each back to check it landed: debugfs reports failures only as text. Destinations
   * must be plain paths ({@link #COMPONENT} components, no "." or ".."); a file already at a
   * destination is replaced. {@code work} is an empty scratch directory.
   */
  public static void addFiles(Path disk, java.util.Map<String, Path> files, Path work) {
    if (files.isEmpty()) {
      return;
    }
    StringBuilder script = new StringBuilder();
    java.util.Map<String, byte[]> expected = new java.util.LinkedHashMap<>();
    int n = 0;
    try {
      for (var e : files.entrySet()) {
        List<String> parts = components(e.getKey());
        byte[] data;
        try (var in = Files.newInputStream(e.getValue())) {
          data = in.readNBytes((int) MAX_ADDED_FILE_BYTES + 1);
        }
        if (data.length > MAX_ADDED_FILE_BYTES || !Files.isRegularFile(e.getValue())) {
          throw ImageException.bad(e.getValue() + " is not a regular file of at most "
              + MAX_ADDED_FILE_BYTES + " bytes");
        }
        // debugfs reads the copy by a name of ours, relative to its working directory.
        String local = "f" + n++;
        Files.write(work.resolve(local), data);
        expected.put("/" + String.join("/", parts), data);
        script.append("cd /\n");
        for (int i = 0; i < parts.size() - 1; i++) {
          script.append("mkdir ").append(parts.get(i)).append("\ncd ").append(parts.get(i)).append('\n');
        }
        String name = parts.get(parts.size() - 1);
        script.append("rm ").append(name).append("\nwrite ").append(local).append(' ')
            .append(name).append('\n');
      }
      Files.writeString(work.resolve("commands"), script);
      run(List.of(DEBUGFS, "-w", "-f", "commands", disk.toString()), work);
      for (var e : expected.entrySet()) {
        Path back = work.resolve("check");
        Files.deleteIfExists(back);
        run(List.of(DEBUGFS, "-R", "dump " + e.getKey() + " check", disk.toString()), work);
        if (!Files.isRegularFile(back) || !java.util.Arrays.equals(Files.readAllBytes(back), e.getValue())) {
          throw new ImageException(ImageException.Kind.FAILURE, "cannot place " + e.getKey()
              + " in the disk (is a directory or a non-directory in its way?)");
        }
      }
    } catch (IOException e) {
      throw ImageException.io("cannot add files to " + disk, e);
    }
  }

  private static List<String> components(String absolute) {
    if (!absolute.startsWith("/")) {
      throw ImageException.bad("'" + absolute + "' is not an absolute path");
    }
    List<String> parts = new ArrayList<>();
    for (String c : absolute.substring(1).split("/")) {
      if (c.isEmpty()) {
        continue;
      }
      if (!COMPONENT.matcher(c).matches() || c.equals(".") || c.equals("..")) {
        throw ImageException.bad("'" + absolute + "' has a component other than "
            + COMPONENT.pattern() + " (or is . or ..)");
      }
      parts.add(c);
    }
    if (parts.isEmpty()) {
      throw ImageException.bad("'" + absolute + "' names no file");
    }
    return parts;
  }

  /** Runs an e2fsprogs tool in {@code cwd}, bounded by MKFS_TIMEOUT_SECONDS; its output on failure. */
  private static void run(List<String> cmd, Path cwd) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new ImageException(ImageException.Kind.UNAVAILABLE, "cannot run " + cmd.get(0) + " ("
          + e.getMessage() + "); install e2fsprogs (scripts/setup-host does)");
    }
    p.getOutputStream().close();
    byte[] output = p.getInputStream().readNBytes(64 * 1024);
    p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
    try {
      if (!p.waitFor(ImageLimits.MKFS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new ImageException(ImageException.Kind.FAILURE, cmd.get(0) + " did not finish in "
            + ImageLimits.MKFS_TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new ImageException(ImageException.Kind.FAILURE, "interrupted while running " + cmd.get(0));
    }
    if (p.exitValue() != 0) {
      throw new ImageException(ImageException.Kind.FAILURE, cmd.get(0) + " failed (exit "
          + p.exitValue() + "): " + new String(output).strip());
    }
  }

  /** Sizes and writes an ext4 image of dir into out. */
  static void build(Path dir, Path out, Digest seed) throws IOException {
    long[] usage = usage(dir);
    long blocks = usage[0];
    long inodes = usage[1] + 64;
    long bytes = (blocks * BLOCK_SIZE + inodes * INODE_SIZE) * (100 + ImageLimits.DISK_SLACK_PERCENT) / 100;
    bytes = Math.max(ImageLimits.MIN_DISK_BYTES, roundUp(bytes, 1024 * 1024));
    if (bytes > ImageLimits.MAX_DISK_BYTES) {
      throw ImageException.bad(
          "image needs a " + bytes + "-byte disk, over the limit of " + ImageLimits.MAX_DISK_BYTES);
    }
    String uuid = seed.hex().substring(0, 8) + "-" + seed.hex().substring(8, 12) + "-4"
        + seed.hex().substring(13, 16) + "-8" + seed.hex().substring(17, 20) + "-"
        + seed.hex().substring(20, 32);
    List<String> cmd = new ArrayList<>(List.of(
        MKFS, "-q", "-F", "-t", "ext4",
        "-b", String.valueOf(BLOCK_SIZE),
        "-I", String.valueOf(INODE_SIZE),
        "-N", String.valueOf(inodes + inodes / 5),
        "-O", "^has_journal",
        "-m", "0",
        "-L", "cocoon-rootfs",
        "-U", uuid,
        "-E", "root_owner=0:0,hash_seed=" + uuid + ",lazy_itable_init=0",
        "-d", dir.toString(),
        out.toString(),
        (bytes / 1024) + "k"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    // Fixed timestamps in the superblock keep rebuilds of the same image identical.
    pb.environment().put("E2FSPROGS_FAKE_TIME", "1");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new ImageException(
          ImageException.Kind.UNAVAILABLE,
          "cannot run " + MKFS + " (" + e.getMessage() + "); install e2fsprogs"
              + " (scripts/setup-host does)");
    }
    byte[] output = p.getInputStream().readNBytes(64 * 1024);
    try {
      if (!p.waitFor(ImageLimits.MKFS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new ImageException(
            ImageException.Kind.FAILURE, MKFS + " did not finish in "
                + ImageLimits.MKFS_TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new ImageException(ImageException.Kind.FAILURE, "interrupted while running " + MKFS);
    }
    if (p.exitValue() != 0) {
      throw new ImageException(
          ImageException.Kind.FAILURE,
          MKFS + " failed (exit " + p.exitValue() + "): " + new String(output).strip()
              + (output.length > 0 && new String(output).contains("No space")
                  ? "; free some disk space" : ""));
    }
    try (var ch = java.nio.channels.FileChannel.open(out, java.nio.file.StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** {blocks, inodes} the tree needs, counting each hard-linked inode once. */
  private static long[] usage(Path dir) throws IOException {
    long[] u = new long[2];
    java.util.Set<Object> seen = new java.util.HashSet<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
        u[0] += 1;
        u[1] += 1;
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
        if (a.fileKey() != null && !seen.add(a.fileKey())) {
          return FileVisitResult.CONTINUE;
        }
        u[1] += 1;
        u[0] += (a.size() + BLOCK_SIZE - 1) / BLOCK_SIZE + 1;
        return FileVisitResult.CONTINUE;
      }
    });
    return u;
  }

  private static long roundUp(long v, long unit) {
    return (v + unit - 1) / unit * unit;
  }
}

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
final class DiskBuilder {
  static final String MKFS = "mkfs.ext4";
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

package run.cocoon.shim.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * File-system steps the store relies on for crash safety: fsync, atomic replace, safe deletion
 * (the last also used for the runtime's own scratch directories).
 */
public final class Fs {
  private Fs() {}

  /** Writes data to a temporary sibling, syncs it, renames it over target, syncs the directory. */
  static void writeAtomically(Path target, byte[] data) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp-" + ProcessHandle.current().pid()
        + "-" + Thread.currentThread().threadId());
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(data);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      moveAtomically(tmp, target);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Renames within one file system; never falls back to copy, which would not be atomic. */
  static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException(
          "cannot rename " + from + " to " + to + " atomically; keep the store on one file system",
          e);
    }
    syncDirectory(to.getParent());
  }

  /**
   * Renames a directory into place unless something already is there (another process won the
   * race, which is fine: both built the same content-addressed thing). Returns whether ours moved.
   */
  static boolean moveDirectoryIfAbsent(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(to.getParent());
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
        return false; // rename(2) gives ENOTEMPTY when the target is a non-empty directory
      }
      throw e;
    }
  }

  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Deletes a tree without following symlinks; a missing tree is fine. */
  public static void deleteTree(Path p) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    }
    if (a.isDirectory()) {
      // An unpacked rootfs may hold directories without write permission (mode 0555).
      p.toFile().setWritable(true, true);
      p.toFile().setExecutable(true, true);
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
        for (Path c : ds) {
          deleteTree(c);
        }
      } catch (NoSuchFileException e) {
        return;
      }
    }
    Files.deleteIfExists(p);
  }

  static void deleteTreeQuietly(Path p) {
    try {
      deleteTree(p);
    } catch (IOException | UncheckedIOException e) {
      System.err.println("cocoon: warning: could not remove " + p + ": " + e);
    }
  }

  /** Flushes everything written to the file system holding dir, so a rename after it is durable. */
  static void syncFileSystem(Path dir) {
    try {
      Process p = new ProcessBuilder("sync", "-f", dir.toString()).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      p.waitFor();
    } catch (IOException e) {
      // sync is best effort: without it a crash may lose the tree, which is then rebuilt on next use
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

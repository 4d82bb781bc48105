package run.cocoon.shim.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive lock between processes (flock on a file) and between threads of this process (a
 * file lock is per process, so threads queue on a ReentrantLock first). Held while the index
 * changes and while one image's rootfs or disk is built.
 */
final class StoreLock implements AutoCloseable {
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();
  /**
   * Lock files this process holds. POSIX record locks belong to the process, and closing any
   * descriptor of the file drops them all, so we must never open (and close) a file we hold.
   */
  private static final java.util.Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path key;

  private final ReentrantLock threadLock;
  private final FileChannel channel;
  private final FileLock fileLock;

  private StoreLock(Path key, ReentrantLock threadLock, FileChannel channel, FileLock fileLock) {
    this.key = key;
    this.threadLock = threadLock;
    this.channel = channel;
    this.fileLock = fileLock;
  }

  static StoreLock acquire(Path lockFile) throws IOException {
    Path key = lockFile.toAbsolutePath().normalize();
    ReentrantLock tl = IN_PROCESS.computeIfAbsent(key, k -> new ReentrantLock());
    tl.lock();
    return lockFile(key, tl);
  }

  /** For a lock file no other thread of this process uses (a staging area's own lock). */
  static StoreLock acquireUnique(Path lockFile) throws IOException {
    return lockFile(lockFile.toAbsolutePath().normalize(), null);
  }

  private static StoreLock lockFile(Path lockFile, ReentrantLock tl) throws IOException {
    Path key = lockFile;
    FileChannel ch = null;
    try {
      ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock fl = ch.lock();
      HELD.add(key);
      return new StoreLock(key, tl, ch, fl);
    } catch (IOException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      if (tl != null) {
        tl.unlock();
      }
      throw e;
    }
  }

  /** Whether some process holds the lock on this file now (used to spot abandoned temp dirs). */
  static boolean isHeld(Path lockFile) {
    if (HELD.contains(lockFile.toAbsolutePath().normalize())) {
      return true;
    }
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock fl = ch.tryLock();
      if (fl == null) {
        return true;
      }
      fl.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true; // held by this very process
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      HELD.remove(key);
      fileLock.release();
      channel.close();
    } finally {
      if (threadLock != null) {
        threadLock.unlock();
      }
    }
  }
}

package run.cocoon.vmm.virtio.block;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A raw disk image: a regular file whose whole 512-byte sectors are the disk. A file whose size is
 * not a multiple of 512 exposes only its whole sectors; the tail is never read or written, so the
 * file never changes size.
 *
 * <p>The image is locked while open (shared for read-only, exclusive for read-write) so that two
 * VMMs cannot write the same image, or one write what another reads. File systems without locks
 * (some network file systems) are used unlocked.
 *
 * <p>Transfers set the channel's position and then read or write all of a request's buffers with
 * one vectored call, so the image serves one request at a time: the device's queue thread.
 */
final class DiskImage implements AutoCloseable {
  /** The virtio-blk sector: capacity, offsets and lengths are in these units. */
  static final int SECTOR_BYTES = 512;

  private static final System.Logger LOG = System.getLogger(DiskImage.class.getName());

  private final Path path;
  private final FileChannel channel;
  private final FileLock lock;
  private final boolean readOnly;
  private final long sectors;
  private final AtomicLong syncs = new AtomicLong();

  private DiskImage(Path path, FileChannel channel, FileLock lock, boolean readOnly, long sectors) {
    this.path = path;
    this.channel = channel;
    this.lock = lock;
    this.readOnly = readOnly;
    this.sectors = sectors;
  }

  /**
   * Opens {@code path} read-only or read-write.
   *
   * @throws IOException with a message naming the image when it is missing, not a regular file,
   *     holds no whole sector, cannot be opened with the requested access, or is in use
   */
  static DiskImage open(Path path, boolean readOnly) throws IOException {
    if (!Files.exists(path)) {
      throw new NoSuchFileException(path.toString(), null, "disk image does not exist");
    }
    if (!Files.isRegularFile(path)) {
      throw new IOException("disk image " + path + " is not a regular file");
    }
    FileChannel channel;
    try {
      channel = readOnly
          ? FileChannel.open(path, StandardOpenOption.READ)
          : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new IOException("cannot open disk image " + path
          + (readOnly ? " for reading" : " for reading and writing") + ": " + e, e);
    }
    try {
      long sectors = channel.size() / SECTOR_BYTES;
      if (sectors == 0) {
        throw new IOException("disk image " + path + " is smaller than one "
            + SECTOR_BYTES + "-byte sector");
      }
      FileLock lock = lock(path, channel, readOnly);
      return new DiskImage(path, channel, lock, readOnly, sectors);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static FileLock lock(Path path, FileChannel channel, boolean shared) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock(0, Long.MAX_VALUE, shared);
    } catch (OverlappingFileLockException e) {
      throw new IOException("disk image " + path + " is already open in this process");
    } catch (IOException e) {
      // ENOLCK and friends: the file system keeps no locks. Going on unlocked is what every
      // other tool on that file system does too.
      LOG.log(System.Logger.Level.WARNING, "disk image " + path + " cannot be locked ("
          + e.getMessage() + "); opened without a lock");
      return null;
    }
    if (lock == null) {
      throw new IOException("disk image " + path + " is in use by another process");
    }
    return lock;
  }

  Path path() {
    return path;
  }

  boolean readOnly() {
    return readOnly;
  }

  /** Whole sectors of the image. */
  long sectors() {
    return sectors;
  }

  /**
   * Whether {@code bytes} starting at {@code sector} lie inside the disk. Unsigned and
   * overflow-safe: the guest chooses both.
   */
  boolean contains(long sector, long bytes) {
    if (bytes < 0 || bytes % SECTOR_BYTES != 0 || Long.compareUnsigned(sector, sectors) > 0) {
      return false;
    }
    return bytes / SECTOR_BYTES <= sectors - sector;
  }

  /**
   * Fills {@code destinations} in order from the image at byte {@code offset}: one readv(2) for
   * all of them where the kernel allows, as a request's guest buffers are usually one page each.
   */
  void read(long offset, ByteBuffer[] destinations) throws IOException {
    long position = offset;
    for (int first = next(destinations, 0); first < destinations.length;
        first = next(destinations, first)) {
      channel.position(position);
      long n = channel.read(destinations, first, destinations.length - first);
      if (n < 0) {
        throw new EOFException("disk image " + path + " ends at " + position
            + " (shrunk while in use?)");
      }
      position += n;
    }
  }

  /** Writes all of {@code sources}, in order, to the image at byte {@code offset} (writev(2)). */
  void write(long offset, ByteBuffer[] sources) throws IOException {
    long position = offset;
    for (int first = next(sources, 0); first < sources.length; first = next(sources, first)) {
      channel.position(position);
      position += channel.write(sources, first, sources.length - first);
    }
  }

  /** The first buffer at or after {@code from} with bytes left. */
  private static int next(ByteBuffer[] buffers, int from) {
    int i = from;
    while (i < buffers.length && !buffers[i].hasRemaining()) {
      i++;
    }
    return i;
  }

  /** Makes every completed write durable: fdatasync(2). */
  void flush() throws IOException {
    channel.force(false);
    syncs.incrementAndGet();
  }

  /** Completed {@link #flush} calls, for diagnostics and tests. */
  long syncs() {
    return syncs.get();
  }

  @Override
  public void close() throws IOException {
    try {
      if (lock != null && lock.isValid()) {
        lock.release();
      }
    } finally {
      channel.close();
    }
  }
}

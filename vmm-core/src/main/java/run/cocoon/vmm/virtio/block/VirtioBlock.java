package run.cocoon.vmm.virtio.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.GuestMemoryException;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.Descriptor;
import run.cocoon.vmm.virtio.DescriptorChain;
import run.cocoon.vmm.virtio.GuestBuffers;
import run.cocoon.vmm.virtio.QueueServer;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * virtio-blk (virtio 1.2, 5.2) over a raw image file ({@link DiskImage}): one request queue,
 * served on its notifier thread, with data moved directly between the image and guest memory.
 *
 * <p>A request is a 16-byte header (type, reserved, sector) in device-readable buffers, then the
 * data (device-readable for writes, device-writable for reads), then one status byte: the last
 * device-writable byte. How the driver cuts this into descriptors is its business (virtio 1.2,
 * 2.6.4), so the header may be split across buffers and data may share a buffer with the header
 * or the status. Whatever the guest writes, a request ends in one of three ways:
 * <ul>
 *   <li>no device-writable byte at all: nothing can be reported, the chain is returned with
 *       nothing written;
 *   <li>a malformed request (header missing or writable, buffers in the wrong direction for the
 *       type, readable after writable, a range outside the disk or not whole sectors, a write to
 *       a read-only disk) or a host I/O error: IOERR, and no data moved in the wrong direction;
 *   <li>a well-formed one: its transfer, then OK; or UNSUPP for types we do not implement.
 * </ul>
 *
 * <p>Durability: with VIRTIO_BLK_F_FLUSH negotiated (Linux always accepts it) the device has a
 * volatile write cache, the host page cache: a completed write is in the image file but not yet
 * on stable storage, and only a FLUSH, answered after fdatasync(2) returns, makes it durable.
 * This is the contract Linux relies on for fsync and journal commits; it is why writes are not
 * synced one by one. A driver that refuses FLUSH gets a write-through device instead: every
 * write is synced before it completes.
 */
public final class VirtioBlock implements VirtioDevice, AutoCloseable {
  // Feature bits (virtio 1.2, 5.2.3).
  /** seg_max holds the most buffers one request may use. */
  public static final int F_SEG_MAX = 2;
  /** The disk is read-only. */
  public static final int F_RO = 5;
  /** blk_size holds the block size. */
  public static final int F_BLK_SIZE = 6;
  /** FLUSH requests exist; the device caches writes until one arrives. */
  public static final int F_FLUSH = 9;

  // Request types (5.2.6).
  public static final int T_IN = 0;
  public static final int T_OUT = 1;
  public static final int T_FLUSH = 4;
  public static final int T_GET_ID = 8;

  // Status values.
  public static final int S_OK = 0;
  public static final int S_IOERR = 1;
  public static final int S_UNSUPP = 2;

  /** Bytes of the request header: le32 type, le32 reserved, le64 sector. */
  public static final int HEADER_BYTES = 16;
  /** Bytes of a GET_ID answer: the serial, NUL-padded, unterminated at full length. */
  public static final int ID_BYTES = 20;
  /** Block size announced in blk_size: the logical sector, so no read-modify-write in the guest. */
  public static final int BLOCK_BYTES = DiskImage.SECTOR_BYTES;
  /** Queue size offered. */
  public static final int QUEUE_SIZE = 256;
  /**
   * Most buffers per request announced in seg_max: the queue size minus header and status, so a
   * request always fits the ring even without indirect descriptors (what Linux assumes).
   */
  public static final int SEG_MAX = QUEUE_SIZE - 2;
  /**
   * Largest piece of one guest buffer in one ByteBuffer of a vectored read or write: a ByteBuffer
   * holds at most 2 GiB, and a buffer may be up to 4 GiB.
   */
  static final int IO_CHUNK_BYTES = 1 << 30;
  /**
   * Bytes of configuration space: the virtio 1.2 struct virtio_blk_config (through the secure
   * erase fields). Fields of features we do not offer read as zero.
   */
  public static final int CONFIG_BYTES = 72;

  /**
   * Serial numbers: up to 20 characters that are safe in sysfs, udev link names and our CLI
   * (the same rule as {@link run.cocoon.vmm.VirtioSpec.Disk}).
   */
  private static final Pattern SERIAL = Pattern.compile("[A-Za-z0-9._-]{0," + ID_BYTES + "}");

  private final String name;
  private final DiskImage image;
  private final byte[] id;
  private final byte[] config;
  private final QueueServer server;
  // Guarded by this.
  private ActiveDevice active;
  private boolean writeThrough;
  private boolean closed;

  /**
   * Opens {@code image} as a disk.
   *
   * @param serial what GET_ID answers (at most {@link #ID_BYTES} of {@code [A-Za-z0-9._-]}); null
   *     or empty for none (GET_ID then answers 20 NUL bytes)
   * @throws IOException when the image cannot be opened (the message names it and says why)
   * @throws IllegalArgumentException when the serial is too long or has other characters
   */
  public VirtioBlock(String name, Path image, boolean readOnly, String serial)
      throws IOException {
    if (serial != null && !SERIAL.matcher(serial).matches()) {
      throw new IllegalArgumentException("disk serial \"" + serial + "\" must be at most "
          + ID_BYTES + " characters of letters, digits, '.', '_' and '-'");
    }
    this.name = name;
    this.id = new byte[ID_BYTES];
    if (serial != null) {
      byte[] ascii = serial.getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(ascii, 0, id, 0, ascii.length);
    }
    this.image = DiskImage.open(image, readOnly);
    this.config = configSpace(this.image.sectors());
    this.server = new QueueServer(name);
  }

  private static byte[] configSpace(long sectors) {
    ByteBuffer c = ByteBuffer.allocate(CONFIG_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    c.putLong(0, sectors);         // capacity, in 512-byte sectors whatever blk_size says
    c.putInt(8, 0);                // size_max: not offered, any buffer size is served
    c.putInt(12, SEG_MAX);         // seg_max
    // 16: geometry (not offered), 24: topology (not offered), 32: writeback (no CONFIG_WCE),
    // 34: num_queues (no MQ), 36..: discard, write zeroes, secure erase (not offered).
    c.putInt(20, BLOCK_BYTES);     // blk_size
    return c.array();
  }

  /** Whole 512-byte sectors of the disk (a partial last sector of the file is not part of it). */
  public long capacitySectors() {
    return image.sectors();
  }

  public boolean readOnly() {
    return image.readOnly();
  }

  /** fdatasync(2) calls made so far (FLUSH requests, or every write in write-through mode). */
  long syncs() {
    return image.syncs();
  }

  @Override
  public int deviceId() {
    return Virtio.ID_BLOCK;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long features() {
    long features = Virtio.bit(F_SEG_MAX) | Virtio.bit(F_BLK_SIZE) | Virtio.bit(F_FLUSH);
    return image.readOnly() ? features | Virtio.bit(F_RO) : features;
  }

  @Override
  public int queueCount() {
    return 1;
  }

  @Override
  public int maxQueueSize() {
    return QUEUE_SIZE;
  }

  @Override
  public int configSize() {
    return CONFIG_BYTES;
  }

  @Override
  public long readConfig(int offset, int size) {
    long value = 0;
    for (int i = size - 1; i >= 0; i--) {
      value = (value << 8) | Byte.toUnsignedLong(config[offset + i]);
    }
    return value;
  }

  @Override
  public synchronized void activate(ActiveDevice device) {
    // Closed means the VM is ending: its vCPUs are stopping, nothing is left to serve.
    this.active = closed ? null : device;
    this.writeThrough = !device.acked(F_FLUSH);
  }

  @Override
  public synchronized void queueNotified(int index) {
    ActiveDevice device = active;
    if (device == null) {
      return;
    }
    if (!server.drain(device.queue(0), device.signals(), chain -> serve(device.memory(), chain))) {
      active = null;
    }
  }

  @Override
  public synchronized void reset() {
    active = null;
  }

  /** Stops serving and closes the image (releasing its lock). */
  @Override
  public synchronized void close() throws IOException {
    active = null;
    closed = true;
    image.close();
  }

  /** Serves one request; returns the bytes written into its device-writable buffers. */
  private long serve(GuestMemory memory, DescriptorChain chain) {
    List<Descriptor> readable = chain.readable();
    List<Descriptor> writable = chain.writable();
    long writableBytes = GuestBuffers.length(writable);
    if (writableBytes == 0) {
      server.warnings().warn(name + ": request without a status byte; returned unanswered");
      return 0;
    }
    long dataBytes = writableBytes - 1; // device-writable bytes before the status byte
    Outcome outcome;
    try {
      outcome = execute(memory, chain, readable, writable, dataBytes);
    } catch (IOException | GuestMemoryException e) {
      server.warnings().warn(name + ": I/O error: " + e.getMessage());
      outcome = new Outcome(S_IOERR, 0);
    }
    GuestBuffers.write(memory, writable, dataBytes, new byte[] {(byte) outcome.status()}, 0, 1);
    return outcome.written() + 1;
  }

  /** A request's status and the data bytes it wrote before the status byte. */
  private record Outcome(int status, long written) {
    static final Outcome OK = new Outcome(S_OK, 0);
  }

  private Outcome execute(GuestMemory memory, DescriptorChain chain, List<Descriptor> readable,
      List<Descriptor> writable, long dataBytes) throws IOException {
    if (!readableFirst(chain)) {
      return failed("device-readable buffer after a device-writable one");
    }
    long readableBytes = GuestBuffers.length(readable);
    if (readableBytes < HEADER_BYTES) {
      return failed("header of " + readableBytes + " device-readable bytes");
    }
    ByteBuffer header = ByteBuffer.wrap(GuestBuffers.read(memory, readable, 0, HEADER_BYTES))
        .order(ByteOrder.LITTLE_ENDIAN);
    int type = header.getInt(0);
    long sector = header.getLong(8);
    long payload = readableBytes - HEADER_BYTES; // device-readable bytes after the header
    return switch (type) {
      case T_IN -> {
        if (payload != 0) {
          yield failed("read with device-readable data buffers");
        }
        if (!image.contains(sector, dataBytes)) {
          yield failed(outside("read", sector, dataBytes));
        }
        transfer(memory, writable, 0, dataBytes, sector * DiskImage.SECTOR_BYTES, image::read);
        yield new Outcome(S_OK, dataBytes);
      }
      case T_OUT -> {
        if (dataBytes != 0) {
          yield failed("write with device-writable data buffers");
        }
        if (image.readOnly()) {
          yield failed("write to a read-only disk");
        }
        if (!image.contains(sector, payload)) {
          yield failed(outside("write", sector, payload));
        }
        transfer(memory, readable, HEADER_BYTES, payload, sector * DiskImage.SECTOR_BYTES,
            image::write);
        if (writeThrough) {
          image.flush();
        }
        yield Outcome.OK;
      }
      case T_FLUSH -> {
        if (payload != 0 || dataBytes != 0) {
          yield failed("flush with data buffers");
        }
        if (!image.readOnly()) {
          image.flush();
        }
        yield Outcome.OK;
      }
      case T_GET_ID -> {
        if (payload != 0) {
          yield failed("get-id with device-readable data buffers");
        }
        int n = (int) Math.min(ID_BYTES, dataBytes);
        GuestBuffers.write(memory, writable, 0, id, 0, n);
        yield new Outcome(S_OK, n);
      }
      default -> new Outcome(S_UNSUPP, 0);
    };
  }

  private Outcome failed(String why) {
    server.warnings().warn(name + ": request failed: " + why);
    return new Outcome(S_IOERR, 0);
  }

  private String outside(String what, long sector, long bytes) {
    return what + " of " + bytes + " bytes at sector " + Long.toUnsignedString(sector)
        + " is not whole sectors inside a disk of " + image.sectors();
  }

  /** Whether every device-readable buffer comes before every device-writable one (2.7.4.2). */
  private static boolean readableFirst(DescriptorChain chain) {
    boolean seenWritable = false;
    for (Descriptor d : chain.descriptors()) {
      if (d.writable()) {
        seenWritable = true;
      } else if (seenWritable) {
        return false;
      }
    }
    return true;
  }

  /** One vectored transfer between the image and host views of guest memory. */
  @FunctionalInterface
  private interface Transfer {
    void apply(long diskOffset, ByteBuffer[] guest) throws IOException;
  }

  /**
   * Moves {@code length} bytes between the image at {@code diskOffset} and {@code buffers}
   * starting {@code skip} bytes in, with no copy: each guest buffer (in pieces of at most 1 GiB)
   * becomes a direct ByteBuffer over guest memory, and all of them go to one vectored call.
   */
  private static void transfer(GuestMemory memory, List<Descriptor> buffers, long skip,
      long length, long diskOffset, Transfer io) throws IOException {
    List<ByteBuffer> views = new ArrayList<>(buffers.size());
    long done = 0;
    long toSkip = skip;
    for (Descriptor d : buffers) {
      if (done == length) {
        break;
      }
      if (toSkip >= d.length()) {
        toSkip -= d.length();
        continue;
      }
      long n = Math.min(d.length() - toSkip, length - done);
      for (long off = 0; off < n; off += IO_CHUNK_BYTES) {
        long chunk = Math.min(IO_CHUNK_BYTES, n - off);
        views.add(memory.slice(d.address() + toSkip + off, chunk).asByteBuffer());
      }
      done += n;
      toSkip = 0;
    }
    if (!views.isEmpty()) {
      io.apply(diskOffset, views.toArray(ByteBuffer[]::new));
    }
  }
}

package run.cocoon.vmm.virtio.block;

import static org.junit.jupiter.api.Assertions.*;
import static run.cocoon.vmm.virtio.block.VirtioBlock.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.DriverQueue.Buffer;
import run.cocoon.vmm.virtio.testing.DriverQueue.Used;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/** virtio-blk through the MMIO transport, driven as Linux drives it, and as a hostile guest. */
class VirtioBlockTest {
  private static final int SECTORS = 64;
  private static final int QUEUE = 16;

  @TempDir
  Path dir;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  /** A disk of {@code bytes} filled with a pattern derived from {@code seed}. */
  private Path image(String name, long bytes, int seed) throws IOException {
    Path p = dir.resolve(name);
    byte[] content = new byte[(int) bytes];
    new Random(seed).nextBytes(content);
    Files.write(p, content);
    return p;
  }

  private VirtioBlock device(Path image, boolean readOnly, String serial) throws IOException {
    VirtioBlock d = new VirtioBlock("blk-test", image, readOnly, serial);
    open.add(d);
    return d;
  }

  private VirtioDriver driver(VirtioBlock device) {
    VirtioDriver d = new VirtioDriver(device).start(QUEUE);
    open.add(d);
    return d;
  }

  /** Everything a test needs for one disk. */
  private final class Disk {
    final Path path;
    final VirtioBlock device;
    final VirtioDriver driver;
    final DriverQueue q;

    Disk(Path path, VirtioBlock device, VirtioDriver driver) {
      this.path = path;
      this.device = device;
      this.driver = driver;
      this.q = driver.queue(0);
    }

    /** A one-byte status buffer holding 0x7f, which no status value is. */
    Buffer statusBuffer() {
      Buffer b = q.writable(1);
      q.memory().writeU8(b.address(), 0x7f);
      return b;
    }

    Buffer header(int type, long sector) {
      return q.readable(headerBytes(type, sector));
    }

    /**
     * Publishes {@code buffers} as one chain, kicks, returns the one used element. The last
     * byte of the last buffer starts as 0x7f, so that a status never written is not taken for OK.
     */
    Used submit(List<Buffer> buffers) {
      Buffer last = buffers.getLast();
      if (last.length() > 0) {
        q.memory().writeU8(last.address() + last.length() - 1, 0x7f);
      }
      q.add(buffers);
      driver.kick(0);
      List<Used> used = q.takeUsed();
      assertEquals(1, used.size(), "one request in, one used element out");
      return used.getFirst();
    }

    int status(Buffer status) {
      return q.read(status.address() + status.length() - 1, 1)[0];
    }

    byte[] file() throws IOException {
      return Files.readAllBytes(path);
    }
  }

  private Disk disk(boolean readOnly) throws IOException {
    return disk("disk.img", SECTORS * 512L, readOnly, "serial-1");
  }

  private Disk disk(String name, long bytes, boolean readOnly, String serial) throws IOException {
    Path p = image(name, bytes, name.hashCode());
    VirtioBlock d = device(p, readOnly, serial);
    return new Disk(p, d, driver(d));
  }

  static byte[] headerBytes(int type, long sector) {
    return ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(0, type).putInt(4, 0).putLong(8, sector).array();
  }

  private static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void offersFeaturesAndConfigurationSpace() throws IOException {
    Disk d = disk(false);
    long features = d.driver.deviceFeatures();
    for (int bit : new int[] {F_FLUSH, F_SEG_MAX, F_BLK_SIZE, Virtio.F_VERSION_1}) {
      assertNotEquals(0, features & Virtio.bit(bit), "feature " + bit);
    }
    assertEquals(0, features & Virtio.bit(F_RO));
    assertEquals(Virtio.ID_BLOCK, d.driver.readRegister(0x008));
    assertEquals(SECTORS, d.driver.config(0, 4) | d.driver.config(4, 4) << 32, "capacity");
    assertEquals(SEG_MAX, d.driver.config(12, 4));
    assertEquals(512, d.driver.config(20, 4), "blk_size");
    assertEquals(0, d.driver.config(8, 4), "size_max: not offered");
    assertEquals(0x0200, d.driver.config(20, 2), "2-byte read of blk_size");
    assertEquals(SECTORS, d.driver.config(0, 1), "1-byte read of capacity");
  }

  @Test
  void readOnlyDisksOfferRo() throws IOException {
    Disk d = disk("ro.img", 4096, true, null);
    assertNotEquals(0, d.driver.deviceFeatures() & Virtio.bit(F_RO));
    assertTrue(d.device.readOnly());
  }

  @Test
  void writeThenReadAcrossSegments() throws IOException {
    Disk d = disk(false);
    byte[] data = pattern(2048, 1);
    // Header split 8 + 8, data in three pieces, one sharing its buffer with nothing else.
    byte[] h = headerBytes(T_OUT, 3);
    Buffer status = d.statusBuffer();
    Used w = d.submit(List.of(d.q.readable(Arrays.copyOfRange(h, 0, 8)),
        d.q.readable(Arrays.copyOfRange(h, 8, 16)),
        d.q.readable(Arrays.copyOfRange(data, 0, 512)),
        d.q.readable(Arrays.copyOfRange(data, 512, 1536)),
        d.q.readable(Arrays.copyOfRange(data, 1536, 2048)), status));
    assertEquals(S_OK, d.status(status));
    assertEquals(1, w.length(), "a write returns only its status byte");
    assertArrayEquals(data, Arrays.copyOfRange(d.file(), 3 * 512, 3 * 512 + 2048));

    // Read it back into differently cut buffers; the last one holds data and the status byte.
    Buffer a = d.q.writable(100);
    Buffer b = d.q.writable(1000);
    Buffer c = d.q.writable(2048 - 1100 + 1);
    Used r = d.submit(List.of(d.header(T_IN, 3), a, b, c));
    assertEquals(2048 + 1, r.length());
    assertEquals(S_OK, d.status(c));
    byte[] back = new byte[2048];
    System.arraycopy(d.q.read(a.address(), 100), 0, back, 0, 100);
    System.arraycopy(d.q.read(b.address(), 1000), 0, back, 100, 1000);
    System.arraycopy(d.q.read(c.address(), 948), 0, back, 1100, 948);
    assertArrayEquals(data, back);
  }

  @Test
  void headerAndDataMayShareABuffer() throws IOException {
    Disk d = disk(false);
    byte[] data = pattern(512, 2);
    byte[] both = new byte[HEADER_BYTES + 512];
    System.arraycopy(headerBytes(T_OUT, 0), 0, both, 0, HEADER_BYTES);
    System.arraycopy(data, 0, both, HEADER_BYTES, 512);
    Buffer status = d.statusBuffer();
    d.submit(List.of(d.q.readable(both), status));
    assertEquals(S_OK, d.status(status));
    assertArrayEquals(data, Arrays.copyOf(d.file(), 512));
  }

  @Test
  void indirectDescriptorsWork() throws IOException {
    Disk d = disk(false);
    byte[] data = pattern(1024, 3);
    Buffer status = d.statusBuffer();
    d.q.addIndirect(List.of(d.header(T_OUT, 10), d.q.readable(Arrays.copyOf(data, 512)),
        d.q.readable(Arrays.copyOfRange(data, 512, 1024)), status));
    d.driver.kick(0);
    assertEquals(1, d.q.takeUsed().size());
    assertEquals(S_OK, d.status(status));
    assertArrayEquals(data, Arrays.copyOfRange(d.file(), 10 * 512, 11 * 512 + 512));
    Buffer in = d.q.writable(1024);
    Buffer inStatus = d.statusBuffer();
    d.q.addIndirect(List.of(d.header(T_IN, 10), in, inStatus));
    d.driver.kick(0);
    assertEquals(List.of(1024 + 1), d.q.takeUsed().stream().map(Used::length).toList());
    assertArrayEquals(data, d.q.read(in.address(), 1024));
  }

  @Test
  void flushSyncsTheImage() throws IOException {
    Disk d = disk(false);
    Buffer ws = d.statusBuffer();
    d.submit(List.of(d.header(T_OUT, 0), d.q.readable(new byte[512]), ws));
    assertEquals(0, d.device.syncs(), "writes are cached until a flush");
    Buffer status = d.statusBuffer();
    Used u = d.submit(List.of(d.header(T_FLUSH, 0), status));
    assertEquals(S_OK, d.status(status));
    assertEquals(1, u.length());
    assertEquals(1, d.device.syncs());
  }

  @Test
  void withoutNegotiatedFlushEveryWriteIsSynced() throws IOException {
    Path p = image("wt.img", 4096, 4);
    VirtioBlock device = device(p, false, null);
    VirtioDriver driver = new VirtioDriver(device);
    open.add(driver);
    driver.start(driver.deviceFeatures() & ~Virtio.bit(F_FLUSH), QUEUE);
    Disk d = new Disk(p, device, driver);
    Buffer status = d.statusBuffer();
    d.submit(List.of(d.header(T_OUT, 1), d.q.readable(new byte[512]), status));
    assertEquals(S_OK, d.status(status));
    assertEquals(1, device.syncs(), "write-through: synced before it completed");
  }

  @Test
  void getIdAnswersTheSerialZeroPadded() throws IOException {
    Disk d = disk("id.img", 4096, false, "vol-7");
    Buffer id = d.q.writable(ID_BYTES);
    Buffer status = d.statusBuffer();
    Used u = d.submit(List.of(d.header(T_GET_ID, 0), id, status));
    assertEquals(S_OK, d.status(status));
    assertEquals(ID_BYTES + 1, u.length());
    byte[] expected = new byte[ID_BYTES];
    System.arraycopy("vol-7".getBytes(), 0, expected, 0, 5);
    assertArrayEquals(expected, d.q.read(id.address(), ID_BYTES));

    // A short buffer gets what fits; the status byte stays the last writable byte.
    Buffer shortId = d.q.writable(4);
    Used s = d.submit(List.of(d.header(T_GET_ID, 0), shortId));
    assertEquals(4, s.length());
    assertArrayEquals("vol".getBytes(), d.q.read(shortId.address(), 3));
    assertEquals(S_OK, d.status(shortId));
  }

  @Test
  void aFullLengthSerialIsUnterminatedAndNoSerialIsZeros() throws IOException {
    String full = "ABCDEFGHIJ0123456789";
    Disk d = disk("full.img", 4096, false, full);
    Buffer id = d.q.writable(ID_BYTES + 1);
    d.submit(List.of(d.header(T_GET_ID, 0), id));
    assertArrayEquals(full.getBytes(), d.q.read(id.address(), ID_BYTES));

    Disk none = disk("none.img", 4096, false, null);
    Buffer nid = none.q.writable(ID_BYTES + 1);
    none.q.memory().fill(nid.address(), ID_BYTES, (byte) 0x55);
    none.submit(List.of(none.header(T_GET_ID, 0), nid));
    assertArrayEquals(new byte[ID_BYTES], none.q.read(nid.address(), ID_BYTES));
  }

  @Test
  void badSerialsAreRefused() throws IOException {
    Path p = image("s.img", 4096, 5);
    for (String bad : new String[] {"ABCDEFGHIJ0123456789X", "has space", "colon:", "comma,", "tab\t",
        "\u00e9t\u00e9", "nul\0"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new VirtioBlock("b", p, false, bad), bad);
      assertTrue(e.getMessage().contains("serial"), e.getMessage());
    }
  }

  @Test
  void imagesThatCannotBeOpenedFailWithTheirName() throws IOException {
    Path missing = dir.resolve("missing.img");
    IOException e = assertThrows(IOException.class, () -> new VirtioBlock("b", missing, false, null));
    assertTrue(e.getMessage().contains("missing.img"), e.getMessage());
    IOException d = assertThrows(IOException.class, () -> new VirtioBlock("b", dir, false, null));
    assertTrue(d.getMessage().contains("not a regular file"), d.getMessage());
    Path tiny = dir.resolve("tiny.img");
    Files.write(tiny, new byte[511]);
    IOException t = assertThrows(IOException.class, () -> new VirtioBlock("b", tiny, false, null));
    assertTrue(t.getMessage().contains("smaller than one 512-byte sector"), t.getMessage());
  }

  @Test
  void anImageInUseIsRefusedUntilClosed() throws IOException {
    Path p = image("locked.img", 4096, 6);
    VirtioBlock first = new VirtioBlock("a", p, false, null);
    IOException e = assertThrows(IOException.class, () -> new VirtioBlock("b", p, false, null));
    assertTrue(e.getMessage().contains("already open"), e.getMessage());
    first.close();
    new VirtioBlock("c", p, false, null).close();
  }

  @Test
  void aPartialLastSectorIsNotPartOfTheDisk() throws IOException {
    Disk d = disk("odd.img", 4 * 512 + 100, false, null);
    assertEquals(4, d.device.capacitySectors());
    assertEquals(4, d.driver.config(0, 4));
    byte[] before = d.file();
    Buffer status = d.statusBuffer();
    d.submit(List.of(d.header(T_OUT, 3), d.q.readable(pattern(512, 7)), status));
    assertEquals(S_OK, d.status(status));
    byte[] after = d.file();
    assertEquals(before.length, after.length, "the file never grows");
    assertArrayEquals(Arrays.copyOfRange(before, 2048, before.length),
        Arrays.copyOfRange(after, 2048, after.length), "the tail is untouched");
    Buffer past = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 4), d.q.writable(512), past));
    assertEquals(S_IOERR, d.status(past));
  }

  @Test
  void aReadOnlyDiskRefusesWritesAndServesReads() throws IOException {
    Disk d = disk("ro.img", SECTORS * 512L, true, null);
    byte[] before = d.file();
    Buffer status = d.statusBuffer();
    Used u = d.submit(List.of(d.header(T_OUT, 0), d.q.readable(new byte[512]), status));
    assertEquals(S_IOERR, d.status(status));
    assertEquals(1, u.length());
    assertArrayEquals(before, d.file());
    Buffer in = d.q.writable(512);
    Buffer inStatus = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 1), in, inStatus));
    assertEquals(S_OK, d.status(inStatus));
    assertArrayEquals(Arrays.copyOfRange(before, 512, 1024), d.q.read(in.address(), 512));
    Buffer flush = d.statusBuffer();
    d.submit(List.of(d.header(T_FLUSH, 0), flush));
    assertEquals(S_OK, d.status(flush));
  }

  // Hostile input #10: ranges outside the disk, partial sectors, overflowing sector numbers.
  @Test
  void rangesOutsideTheDiskOrNotWholeSectorsAreIoErrors() throws IOException {
    Disk d = disk(false);
    byte[] before = d.file();
    long[][] cases = {
        {SECTORS, 512},             // starts at the end
        {SECTORS - 1, 1024},        // runs past the end
        {0, 511},                   // not whole sectors
        {0, 513},
        {1L << 55, 512},            // sector * 512 overflows 63 bits
        {Long.MIN_VALUE, 512},      // sector with the top bit set
        {-1L, 512},                 // 2^64 - 1
        {1L << 54, 512},            // sector * 512 is negative as a signed long
        {SECTORS + 1, 0},           // past the end, even with no data
    };
    for (long[] c : cases) {
      Buffer ws = d.statusBuffer();
      d.submit(List.of(d.header(T_OUT, c[0]), d.q.readable(new byte[(int) c[1]]), ws));
      assertEquals(S_IOERR, d.status(ws), "write " + Arrays.toString(c));
      Buffer data = d.q.writable((int) c[1]);
      d.q.memory().fill(data.address(), c[1], (byte) 0x5a);
      Buffer rs = d.statusBuffer();
      Used u = d.submit(List.of(d.header(T_IN, c[0]), data, rs));
      assertEquals(S_IOERR, d.status(rs), "read " + Arrays.toString(c));
      assertEquals(1, u.length());
      byte[] untouched = new byte[(int) c[1]];
      Arrays.fill(untouched, (byte) 0x5a);
      assertArrayEquals(untouched, d.q.read(data.address(), (int) c[1]), "no data moved");
    }
    assertArrayEquals(before, d.file());
    // The last sector and a zero-length request at the end are inside.
    Buffer ok = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, SECTORS - 1), d.q.writable(512), ok));
    assertEquals(S_OK, d.status(ok));
    Buffer empty = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, SECTORS), empty));
    assertEquals(S_OK, d.status(empty));
  }

  // Hostile input #9: buffers in the wrong direction fail without moving data.
  @Test
  void wrongDirectionsFailWithoutDataTransfer() throws IOException {
    Disk d = disk(false);
    byte[] before = d.file();

    // A read whose data buffer is device-readable: nothing read into it, IOERR.
    byte[] guestData = pattern(512, 8);
    Buffer readableData = d.q.readable(guestData);
    Buffer s1 = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 0), readableData, s1));
    assertEquals(S_IOERR, d.status(s1));
    assertArrayEquals(guestData, d.q.read(readableData.address(), 512));

    // A write whose data buffer is device-writable: nothing written to disk, IOERR.
    Buffer writableData = d.q.writable(512);
    Buffer s2 = d.statusBuffer();
    Used u2 = d.submit(List.of(d.header(T_OUT, 0), writableData, s2));
    assertEquals(S_IOERR, d.status(s2));
    assertEquals(1, u2.length());

    // A writable header: no header at all, IOERR in the last writable byte.
    Buffer writableHeader = d.q.writable(HEADER_BYTES);
    d.q.memory().write(writableHeader.address(), headerBytes(T_OUT, 0));
    Buffer s3 = d.statusBuffer();
    d.submit(List.of(writableHeader, s3));
    assertEquals(S_IOERR, d.status(s3));

    // A read-only status byte: nothing can be answered, the chain comes back with nothing written.
    Used u4 = d.submit(List.of(d.header(T_OUT, 0), d.q.readable(new byte[512]),
        d.q.readable(new byte[1])));
    assertEquals(0, u4.length());

    // Device-readable after device-writable (a driver must not do that): IOERR, no transfer.
    Buffer s5 = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 0), d.q.writable(512), d.q.readable(new byte[4]), s5));
    assertEquals(S_IOERR, d.status(s5));

    // A header cut short.
    Buffer s6 = d.statusBuffer();
    d.submit(List.of(d.q.readable(new byte[15]), s6));
    assertEquals(S_IOERR, d.status(s6));

    // A flush carrying data.
    Buffer s7 = d.statusBuffer();
    d.submit(List.of(d.header(T_FLUSH, 0), d.q.readable(new byte[512]), s7));
    assertEquals(S_IOERR, d.status(s7));

    assertArrayEquals(before, d.file(), "no request changed the disk");
  }

  @Test
  void unsupportedTypesAnswerUnsupp() throws IOException {
    Disk d = disk(false);
    byte[] before = d.file();
    for (int type : new int[] {2, 3, 10, 11, 13, 14, 0x7fff_ffff, -1}) {
      Buffer status = d.statusBuffer();
      d.submit(List.of(d.header(type, 0), d.q.readable(new byte[16]), status));
      assertEquals(S_UNSUPP, d.status(status), "type " + type);
    }
    assertArrayEquals(before, d.file());
  }

  @Test
  void anIoErrorOnTheHostIsAnIoErrorForTheGuest() throws IOException {
    Disk d = disk(false);
    try (FileChannel c = FileChannel.open(d.path, StandardOpenOption.WRITE)) {
      c.truncate(512); // the image shrinks under the running device
    }
    Buffer status = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 8), d.q.writable(512), status));
    assertEquals(S_IOERR, d.status(status));
    Buffer next = d.statusBuffer();
    d.submit(List.of(d.header(T_IN, 0), d.q.writable(512), next));
    assertEquals(S_OK, d.status(next), "the device goes on serving");
  }

  // Hostile inputs #1-#8 reach the device as chains the walker rejects: each comes back used
  // with nothing written, and the next good request is served.
  @Test
  void malformedChainsAreReturnedAndServingGoesOn() throws IOException {
    Disk d = disk(false);
    byte[] before = d.file();
    DriverQueue q = d.q;
    long header = q.readable(headerBytes(T_OUT, 0)).address();
    long data = q.allocate(512);
    // #1 a loop, #2 a next index outside the queue, #6 a buffer outside RAM and one wrapping
    // 2^64, #7 lengths overflowing 32 bits, #8 a nested indirect table.
    q.writeDescriptor(0, header, 16, DriverQueue.F_NEXT, 1);
    q.writeDescriptor(1, data, 512, DriverQueue.F_NEXT, 0);
    q.publish(0);
    q.writeDescriptor(2, header, 16, DriverQueue.F_NEXT, QUEUE);
    q.publish(2);
    q.writeDescriptor(3, header, 16, DriverQueue.F_NEXT, 4);
    q.writeDescriptor(4, VirtioDriver.RAM_BYTES, 512, DriverQueue.F_NEXT, 5);
    q.writeDescriptor(5, data, 1, DriverQueue.F_WRITE, 0);
    q.publish(3);
    q.writeDescriptor(6, -16L, 32, 0, 0);
    q.publish(6);
    q.writeDescriptor(7, header, 0xffff_fff0, DriverQueue.F_NEXT, 8);
    q.writeDescriptor(8, data, 0x20, 0, 0);
    q.publish(7);
    long table = q.allocate(16);
    q.memory().writeU64(table, table);
    q.memory().writeU32(table + 8, 16);
    q.memory().writeU16(table + 12, DriverQueue.F_INDIRECT);
    q.writeDescriptor(9, table, 16, DriverQueue.F_INDIRECT, 0);
    q.publish(9);
    q.publish(QUEUE + 3); // #2 a head outside the queue
    d.driver.kick(0);
    List<Used> used = q.takeUsed();
    assertEquals(7, used.size());
    assertTrue(used.stream().allMatch(u -> u.length() == 0), used.toString());
    assertArrayEquals(before, d.file());
    assertEquals(0, d.driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);

    Buffer status = q.writable(1);
    q.writeDescriptor(10, q.readable(headerBytes(T_IN, 0)).address(), 16, DriverQueue.F_NEXT, 11);
    Buffer in = q.writable(512);
    q.writeDescriptor(11, in.address(), 512, DriverQueue.F_NEXT | DriverQueue.F_WRITE, 12);
    q.writeDescriptor(12, status.address(), 1, DriverQueue.F_WRITE, 0);
    q.publish(10);
    d.driver.kick(0);
    assertEquals(List.of(new Used(10, 513)), q.takeUsed());
    assertEquals(S_OK, d.status(status));
  }

  // Hostile input #3: a ring that cannot be trusted stops the device until the driver resets it.
  @Test
  void aBrokenRingNeedsAReset() throws IOException {
    Disk d = disk(false);
    byte[] before = d.file();
    d.q.readable(headerBytes(T_OUT, 0));
    d.q.setAvailIdx(QUEUE + 5);
    d.driver.kick(0);
    assertNotEquals(0, d.driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    assertTrue(d.q.takeUsed().isEmpty());
    d.driver.kick(0);
    assertTrue(d.q.takeUsed().isEmpty(), "a stopped device serves nothing");
    assertArrayEquals(before, d.file());

    d.driver.start(QUEUE); // reset and probe again
    assertEquals(0, d.driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    Disk again = new Disk(d.path, d.device, d.driver);
    Buffer status = again.statusBuffer();
    again.submit(List.of(again.header(T_IN, 0), again.q.writable(512), status));
    assertEquals(S_OK, again.status(status));
  }

  // #4: a bad queue size fails activation, the device needs a reset and serves nothing.
  @Test
  void aQueueSizeAboveTheMaximumIsNotMadeReady() throws IOException {
    Path p = image("q.img", 4096, 9);
    VirtioDriver driver = new VirtioDriver(device(p, false, null));
    open.add(driver);
    driver.negotiate(driver.deviceFeatures());
    driver.setUpQueue(0, QUEUE_SIZE * 2);
    assertEquals(0, driver.readRegister(0x044), "QueueReady reads back 0");
    driver.setStatus(driver.status() | Virtio.STATUS_DRIVER_OK);
    assertNotEquals(0, driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    assertFalse(driver.transport().isActive());
  }

  @Test
  void severalDisksAreIndependent() throws IOException {
    Disk a = disk("a.img", 8192, false, "A");
    Disk b = disk("b.img", 8192, false, "B");
    byte[] bBefore = b.file();
    byte[] data = pattern(1024, 10);
    Buffer status = a.statusBuffer();
    a.submit(List.of(a.header(T_OUT, 2), a.q.readable(data), status));
    assertEquals(S_OK, a.status(status));
    assertArrayEquals(data, Arrays.copyOfRange(a.file(), 1024, 2048));
    assertArrayEquals(bBefore, b.file());
    Buffer id = b.q.writable(ID_BYTES + 1);
    b.submit(List.of(b.header(T_GET_ID, 0), id));
    assertEquals('B', b.q.read(id.address(), 1)[0]);
    a.driver.setStatus(0); // resetting one leaves the other serving
    Buffer bs = b.statusBuffer();
    b.submit(List.of(b.header(T_FLUSH, 0), bs));
    assertEquals(S_OK, b.status(bs));
  }

  @Test
  void manyRequestsInOneKickAreAllServedWithOneInterrupt() throws IOException {
    Disk d = disk(false);
    int before = d.driver.interrupts();
    List<Buffer> statuses = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Buffer s = d.statusBuffer();
      statuses.add(s);
      d.q.add(List.of(d.header(T_OUT, i), d.q.readable(pattern(512, 20 + i)), s));
    }
    d.driver.kick(0);
    assertEquals(4, d.q.takeUsed().size());
    for (Buffer s : statuses) {
      assertEquals(S_OK, d.status(s));
    }
    assertEquals(before + 1, d.driver.interrupts());
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(pattern(512, 20 + i), Arrays.copyOfRange(d.file(), i * 512, i * 512 + 512));
    }
  }

  @Test
  void afterCloseNothingIsServedAndTheImageIsFree() throws IOException {
    Disk d = disk(false);
    d.device.close();
    d.q.add(List.of(d.header(T_FLUSH, 0), d.statusBuffer()));
    d.driver.kick(0);
    assertTrue(d.q.takeUsed().isEmpty());
    new VirtioBlock("again", d.path, false, null).close();
  }
}

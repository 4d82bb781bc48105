package run.cocoon.vmm.virtio.fuzz;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.virtio.block.VirtioBlock;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.DriverQueue.Buffer;
import run.cocoon.vmm.virtio.testing.DriverQueue.Used;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/**
 * virtio-blk requests with arbitrary headers and arbitrary ways of cutting header, data and status
 * into buffers (any directions, any order, direct or indirect, now and then a buffer outside RAM),
 * served from a small disk image whose last sector is partial. Invariants: every request comes
 * back; one with a device-writable byte gets OK, IOERR or UNSUPP in its last one; the image
 * changes only for a write answered OK, only in that write's sectors, and only to its data; the
 * file never changes size; the partial tail is never touched.
 */
class BlockRequestFuzzTest {
  private static final int SECTORS = 8;
  private static final int TAIL = 100;
  private static final int QUEUE = 16;
  private static final byte[] PRISTINE = pristine();
  private static final Harness HARNESS = new Harness();

  /** One disk, device and driver for the whole run: a fuzzer calls the target millions of times. */
  private static final class Harness {
    final Path image;
    final FileChannel channel;
    final VirtioBlock device;
    final VirtioDriver driver;

    Harness() {
      try {
        image = Files.createTempFile("cocoon-blk-fuzz", ".img");
        image.toFile().deleteOnExit();
        Files.write(image, PRISTINE);
        channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE);
        device = new VirtioBlock("blk-fuzz", image, false, "fuzz-serial");
        driver = new VirtioDriver(device);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    byte[] content() throws IOException {
      ByteBuffer b = ByteBuffer.allocate((int) channel.size());
      channel.read(b, 0);
      return b.array();
    }

    void restore() throws IOException {
      channel.write(ByteBuffer.wrap(PRISTINE), 0);
    }
  }

  private static byte[] pristine() {
    byte[] b = new byte[SECTORS * 512 + TAIL];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 31 + (i >> 9));
    }
    return b;
  }

  @FuzzTest(maxDuration = "10m")
  void requests(byte[] bytes) throws IOException {
    run(bytes);
  }

  @Test
  void randomInputs() throws IOException {
    long seed = Long.getLong("cocoon.fuzz.seed", FuzzInput.DEFAULT_SEED);
    System.out.println("BlockRequestFuzzTest seed " + seed + " (-Dcocoon.fuzz.seed=" + seed + ")");
    Random random = new Random(seed);
    for (int i = 0; i < Integer.getInteger("cocoon.fuzz.iterations", 1000); i++) {
      run(FuzzInput.random(random, 4096));
    }
  }

  /** A buffer as the test cut it, with the bytes it holds if device-readable. */
  private record Piece(byte[] data, int writableLength, boolean outsideRam, long address) {
    boolean writable() {
      return data == null;
    }

    int length() {
      return writable() ? writableLength : data.length;
    }
  }

  static void run(byte[] bytes) throws IOException {
    Harness h = HARNESS;
    h.restore();
    FuzzInput in = new FuzzInput(bytes);
    DriverQueue q = h.driver.start(QUEUE).queue(0);

    // The device-readable stream (a header and data) and the device-writable length; mostly a
    // request a driver could send, so that random inputs reach the data path too.
    ByteArrayOutputStream readable = new ByteArrayOutputStream();
    int writableBytes;
    if (in.u8() >= 32) {
      boolean plausible = in.u8() >= 64;
      int type = plausible ? in.pick(VirtioBlock.T_IN, VirtioBlock.T_OUT, VirtioBlock.T_FLUSH,
          VirtioBlock.T_GET_ID, 11, 13) : in.u32();
      long sector = plausible ? in.intIn(0, SECTORS + 1)
          : in.pick(-1L, 1L << 55, 1L << 54, Long.MIN_VALUE, in.u64());
      int dataBytes = 512 * in.intIn(0, 3);
      readable.writeBytes(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
          .putInt(type).putInt(in.u32()).putLong(sector).array());
      readable.writeBytes(in.bytes(plausible && type == VirtioBlock.T_OUT ? dataBytes
          : in.bool() ? 0 : in.intIn(0, 3 * 512 + 3)));
      writableBytes = !plausible ? in.intIn(0, 2000)
          : type == VirtioBlock.T_IN ? dataBytes + 1
          : type == VirtioBlock.T_GET_ID ? VirtioBlock.ID_BYTES + 1 : 1;
    } else {
      readable.writeBytes(in.bytes(in.intIn(0, 40)));
      writableBytes = in.intIn(0, 2000);
    }

    List<Piece> pieces = new ArrayList<>();
    cut(in, readable.toByteArray(), -1, pieces);
    cut(in, null, writableBytes, pieces);
    if (in.u8() < 32 && pieces.size() > 1) { // maybe a wrong order: move one buffer elsewhere
      Piece p = pieces.remove(in.intIn(0, pieces.size() - 1));
      pieces.add(in.intIn(0, pieces.size()), p);
    }
    if (in.u8() < 16 && !pieces.isEmpty()) { // a buffer beyond RAM (or wrapping 2^64)
      int i = in.intIn(0, pieces.size() - 1);
      Piece p = pieces.get(i);
      long beyond = VirtioDriver.RAM_BYTES + Integer.toUnsignedLong(in.u32());
      pieces.set(i, new Piece(p.data(), p.writableLength(), true,
          in.pick(VirtioDriver.RAM_BYTES, -16L, beyond)));
    }
    if (pieces.isEmpty()) {
      pieces.add(new Piece(new byte[0], 0, false, 0));
    }

    List<Buffer> buffers = new ArrayList<>();
    for (Piece p : pieces) {
      if (p.outsideRam()) {
        buffers.add(new Buffer(p.address(), p.length(), p.writable()));
      } else if (p.writable()) {
        Buffer b = q.writable(p.length());
        q.memory().fill(b.address(), p.length(), (byte) 0x7f);
        buffers.add(b);
      } else {
        buffers.add(q.readable(p.data()));
      }
    }
    boolean indirect = in.bool();
    if (indirect) {
      q.addIndirect(buffers);
    } else {
      q.add(buffers);
    }
    h.driver.kick(0);

    List<Used> used = q.takeUsed();
    assertEquals(1, used.size(), "every request comes back");
    byte[] after = h.content();
    assertEquals(PRISTINE.length, after.length, "the image never changes size");
    assertArrayEquals(Arrays.copyOfRange(PRISTINE, SECTORS * 512, PRISTINE.length),
        Arrays.copyOfRange(after, SECTORS * 512, after.length), "the partial tail is untouched");

    // A zero-length buffer is never dereferenced, so it may point anywhere.
    boolean anyOutside = pieces.stream().anyMatch(p -> p.outsideRam() && p.length() > 0);
    Buffer status = lastWritableByte(buffers);
    if (anyOutside || status == null) {
      assertEquals(0, used.getFirst().length(), "nothing can be answered");
      assertArrayEquals(PRISTINE, after, "an unanswered request changed the disk");
      return;
    }
    int s = q.memory().readU8(status.address());
    assertTrue(s == VirtioBlock.S_OK || s == VirtioBlock.S_IOERR || s == VirtioBlock.S_UNSUPP,
        "status " + s);
    assertTrue(used.getFirst().length() >= 1);
    if (Arrays.equals(PRISTINE, after)) {
      return;
    }
    // The disk changed: it must have been a well-formed write, answered OK, to its own sectors.
    byte[] stream = readableStream(pieces);
    assertEquals(VirtioBlock.S_OK, s, "the disk changed for a failed request");
    ByteBuffer header = ByteBuffer.wrap(stream, 0, 16).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(VirtioBlock.T_OUT, header.getInt(0), "the disk changed for a non-write");
    long sector = header.getLong(8);
    byte[] data = Arrays.copyOfRange(stream, 16, stream.length);
    assertTrue(sector >= 0 && sector <= SECTORS && data.length % 512 == 0
        && data.length / 512 <= SECTORS - sector, "write outside the disk");
    byte[] expected = PRISTINE.clone();
    System.arraycopy(data, 0, expected, (int) sector * 512, data.length);
    assertArrayEquals(expected, after, "the write landed exactly in its sectors");
  }

  /** Cuts {@code data} (or {@code writable} bytes) into 0-4 pieces at fuzzer-chosen points. */
  private static void cut(FuzzInput in, byte[] data, int writable, List<Piece> out) {
    int length = data != null ? data.length : writable;
    int pieces = in.intIn(0, 4);
    if (pieces == 0) {
      if (length > 0) {
        out.add(data != null ? new Piece(data, 0, false, 0) : new Piece(null, length, false, 0));
      }
      return;
    }
    int start = 0;
    for (int i = 0; i < pieces; i++) {
      int end = i == pieces - 1 ? length : start + in.intIn(0, length - start);
      out.add(data != null ? new Piece(Arrays.copyOfRange(data, start, end), 0, false, 0)
          : new Piece(null, end - start, false, 0));
      start = end;
    }
  }

  /** The one-byte view of a chain's last device-writable byte, or null when it has none. */
  private static Buffer lastWritableByte(List<Buffer> buffers) {
    for (Buffer b : buffers.reversed()) {
      if (b.writable() && b.length() > 0) {
        return new Buffer(b.address() + b.length() - 1, 1, true);
      }
    }
    return null;
  }

  private static byte[] readableStream(List<Piece> pieces) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Piece p : pieces) {
      if (!p.writable()) {
        out.writeBytes(p.data());
      }
    }
    return out.toByteArray();
  }
}

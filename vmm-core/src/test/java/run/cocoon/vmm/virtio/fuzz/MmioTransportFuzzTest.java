package run.cocoon.vmm.virtio.fuzz;

import static org.junit.jupiter.api.Assertions.*;
import static run.cocoon.vmm.virtio.MmioTransport.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.MmioTransport;
import run.cocoon.vmm.virtio.QueueConfig;
import run.cocoon.vmm.virtio.SplitQueue;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * The virtio-mmio transport under arbitrary sequences of register reads and writes of any width at
 * any offset, against a device that records what the transport does to it. Invariants: nothing
 * throws; the status register only ever holds a legal state; the device is activated only from
 * FEATURES_OK with VERSION_1 accepted, only offered features, and queues that pass the checks;
 * never twice without a reset between; it is notified only while active; configuration accesses
 * stay inside its configuration space.
 */
class MmioTransportFuzzTest {
  private static final long RAM_BYTES = 0x1_0000;
  private static final long HIGH_BASE = 0x2_0000;
  private static final MmapGuestMemory MEMORY = MmapGuestMemory.allocate(
      List.of(new long[] {0, RAM_BYTES}, new long[] {HIGH_BASE, 0x8000}));
  private static final int ACK = Virtio.STATUS_ACKNOWLEDGE;
  private static final int DRIVER = Virtio.STATUS_DRIVER;
  private static final int FEATURES_OK = Virtio.STATUS_FEATURES_OK;
  private static final int DRIVER_OK = Virtio.STATUS_DRIVER_OK;
  /** Status values a driver can reach, before the FAILED and NEEDS_RESET bits. */
  private static final Set<Integer> LEGAL = Set.of(0, ACK, ACK | DRIVER, ACK | DRIVER | FEATURES_OK,
      ACK | DRIVER | FEATURES_OK | DRIVER_OK);
  private static final int[] REGISTERS = {REG_MAGIC, REG_VERSION, REG_DEVICE_ID, REG_VENDOR_ID,
      REG_DEVICE_FEATURES, REG_DEVICE_FEATURES_SEL, REG_DRIVER_FEATURES, REG_DRIVER_FEATURES_SEL,
      REG_QUEUE_SEL, REG_QUEUE_NUM_MAX, REG_QUEUE_NUM, REG_QUEUE_READY, REG_QUEUE_NOTIFY,
      REG_INTERRUPT_STATUS, REG_INTERRUPT_ACK, REG_STATUS, REG_QUEUE_DESC_LOW, REG_QUEUE_DESC_HIGH,
      REG_QUEUE_DRIVER_LOW, REG_QUEUE_DRIVER_HIGH, REG_QUEUE_DEVICE_LOW, REG_QUEUE_DEVICE_HIGH,
      REG_SHM_SEL, REG_SHM_LEN_LOW, REG_SHM_BASE_LOW, REG_CONFIG_GENERATION, CONFIG_SPACE,
      CONFIG_SPACE + 4, CONFIG_SPACE + 10, CONFIG_SPACE + 12, 0x0ff, 0x1000, 0xffc};
  /** Values that mean something to some register. */
  private static final long[] VALUES = {0, 1, 2, 3, 4, 7, 8, 11, 15, 16, 0x80, 0x8f, 0x40,
      0x1000, 0x2000, 0x3000, 0x1008, 0x2001, 0x3002, RAM_BYTES - 8, HIGH_BASE, 0xffff_ffffL,
      1L << 32, -1L, Recording.OFFERED, Recording.OFFERED >>> 32, 1 | (1L << 32)};

  /** A device that checks what the transport asks of it. */
  static final class Recording implements VirtioDevice {
    static final long OFFERED = Virtio.bit(0) | Virtio.bit(5) | Virtio.bit(40);
    static final int QUEUES = 2;
    static final int MAX_QUEUE = 8;
    static final int CONFIG_BYTES = 12;
    MmioTransport transport;
    boolean active;
    int activations;

    @Override
    public int deviceId() {
      return 42;
    }

    @Override
    public String name() {
      return "fuzz";
    }

    @Override
    public long features() {
      return OFFERED;
    }

    @Override
    public int queueCount() {
      return QUEUES;
    }

    @Override
    public int maxQueueSize() {
      return MAX_QUEUE;
    }

    @Override
    public int configSize() {
      return CONFIG_BYTES;
    }

    @Override
    public long readConfig(int offset, int size) {
      checkConfig(offset, size);
      return offset;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
      checkConfig(offset, size);
    }

    private static void checkConfig(int offset, int size) {
      assertTrue(size == 1 || size == 2 || size == 4, "config access of " + size);
      assertTrue(offset >= 0 && offset + size <= CONFIG_BYTES, "config access at " + offset);
    }

    @Override
    public void activate(ActiveDevice device) {
      assertFalse(active, "activated twice without a reset");
      int status = transport.status();
      assertEquals(ACK | DRIVER | FEATURES_OK | DRIVER_OK, status, "activated in status " + status);
      long acked = device.ackedFeatures();
      assertEquals(0, acked & ~(OFFERED | Virtio.bit(Virtio.F_VERSION_1)
          | Virtio.bit(Virtio.F_EVENT_IDX) | Virtio.bit(Virtio.F_INDIRECT_DESC)), "unoffered");
      assertTrue(device.acked(Virtio.F_VERSION_1));
      assertEquals(QUEUES, device.queues().size());
      for (SplitQueue q : device.queues()) {
        QueueConfig c = q.config();
        assertTrue(c.size() > 0 && c.size() <= MAX_QUEUE && Integer.bitCount(c.size()) == 1);
        assertTrue(MEMORY.isRam(c.descriptorTable(), c.descriptorTableBytes()));
        assertTrue(MEMORY.isRam(c.availRing(), c.availRingBytes()));
        assertTrue(MEMORY.isRam(c.usedRing(), c.usedRingBytes()));
        assertEquals(0, c.descriptorTable() % 16);
        assertEquals(0, c.availRing() % 2);
        assertEquals(0, c.usedRing() % 4);
      }
      active = true;
      activations++;
    }

    @Override
    public void queueNotified(int index) {
      assertTrue(active, "notified while not active");
      assertTrue(index >= 0 && index < QUEUES, "notified for queue " + index);
    }

    @Override
    public void reset() {
      active = false;
    }
  }

  @FuzzTest(maxDuration = "10m")
  void registerSequences(byte[] bytes) {
    run(bytes);
  }

  @Test
  void randomInputs() {
    long seed = Long.getLong("cocoon.fuzz.seed", FuzzInput.DEFAULT_SEED);
    System.out.println("MmioTransportFuzzTest seed " + seed + " (-Dcocoon.fuzz.seed=" + seed + ")");
    Random random = new Random(seed);
    for (int i = 0; i < Integer.getInteger("cocoon.fuzz.iterations", 2000); i++) {
      run(FuzzInput.random(random, 512));
    }
  }

  static void run(byte[] bytes) {
    FuzzInput in = new FuzzInput(bytes);
    Recording device = new Recording();
    int[] interrupts = new int[1];
    MmioTransport transport = new MmioTransport(device, MEMORY, () -> interrupts[0]++,
        device::queueNotified);
    device.transport = transport;
    if (in.bool()) {
      probe(transport, in.bool());
    }
    for (int op = 0; op < 512 && in.hasMore(); op++) {
      int kind = in.u8();
      long offset = (kind & 2) != 0 ? REGISTERS[in.intIn(0, REGISTERS.length - 1)]
          : in.intIn(0, 0x1100);
      int width = (kind & 4) != 0 ? 4 : in.pick(1, 2, 4, 8, 3, 0, 16);
      if ((kind & 1) != 0) {
        long value = transport.read(offset, width);
        if (offset == REG_MAGIC && width == 4) {
          assertEquals(MAGIC, value);
        }
        if (offset >= CONFIG_SPACE + Recording.CONFIG_BYTES) {
          assertEquals(0, value, "config read past the end");
        }
      } else {
        long value = (kind & 8) != 0 ? VALUES[in.intIn(0, VALUES.length - 1)] : in.u64();
        transport.write(offset, width, value);
      }
      int status = transport.status();
      int base = status & ~(Virtio.STATUS_FAILED | Virtio.STATUS_DEVICE_NEEDS_RESET);
      assertTrue(LEGAL.contains(base), "status 0x" + Integer.toHexString(status));
      assertEquals(device.active, transport.isActive(), "device and transport agree");
      if (device.active) {
        assertEquals(ACK | DRIVER | FEATURES_OK | DRIVER_OK, base);
      }
    }
    transport.shutdown();
    assertFalse(device.active);
  }

  /** Linux's probe up to DRIVER_OK, so that random operations start from a live device. */
  private static void probe(MmioTransport t, boolean ready) {
    t.write(REG_STATUS, 4, 0);
    t.write(REG_STATUS, 4, ACK);
    t.write(REG_STATUS, 4, ACK | DRIVER);
    t.write(REG_DRIVER_FEATURES_SEL, 4, 1);
    t.write(REG_DRIVER_FEATURES, 4, 1);
    t.write(REG_STATUS, 4, ACK | DRIVER | FEATURES_OK);
    for (int i = 0; i < Recording.QUEUES; i++) {
      t.write(REG_QUEUE_SEL, 4, i);
      t.write(REG_QUEUE_NUM, 4, Recording.MAX_QUEUE);
      t.write(REG_QUEUE_DESC_LOW, 4, 0x1000 + 0x1000L * i);
      t.write(REG_QUEUE_DRIVER_LOW, 4, 0x1800 + 0x1000L * i);
      t.write(REG_QUEUE_DEVICE_LOW, 4, 0x1c00 + 0x1000L * i);
      t.write(REG_QUEUE_READY, 4, 1);
    }
    if (ready) {
      t.write(REG_STATUS, 4, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
      assertTrue(t.isActive());
    }
  }
}

package run.cocoon.vmm.virtio.testing;

import static run.cocoon.vmm.virtio.MmioTransport.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.virtio.MmioTransport;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * A test driver for any {@link VirtioDevice}: guest memory, the MMIO transport, and the probe
 * sequence Linux's virtio_mmio driver performs, with every register access going through
 * {@link MmioTransport#read}/{@link MmioTransport#write} as a vCPU's MMIO exit would. Queue
 * notifications are served synchronously on the calling thread.
 */
public final class VirtioDriver implements AutoCloseable {
  /** Test RAM: 16 MiB at guest address 0. */
  public static final long RAM_BYTES = 16L << 20;
  /** Where queue {@code i} is laid out: 1 MiB apart from 1 MiB up. */
  private static final long QUEUE_AREA = 1L << 20;

  private final MmapGuestMemory memory;
  private final MmioTransport transport;
  private final VirtioDevice device;
  private final List<DriverQueue> queues = new ArrayList<>();
  private final AtomicInteger interrupts = new AtomicInteger();

  public VirtioDriver(VirtioDevice device) {
    this.device = device;
    this.memory = MmapGuestMemory.allocate(List.<long[]>of(new long[] {0, RAM_BYTES}));
    this.transport = new MmioTransport(device, memory, interrupts::incrementAndGet,
        device::queueNotified);
  }

  public GuestMemory memory() {
    return memory;
  }

  public MmioTransport transport() {
    return transport;
  }

  /** Interrupts raised so far. */
  public int interrupts() {
    return interrupts.get();
  }

  public int readRegister(int offset) {
    return (int) transport.read(offset, 4);
  }

  public void writeRegister(int offset, int value) {
    transport.write(offset, 4, Integer.toUnsignedLong(value));
  }

  /** The device's offered features (both words). */
  public long deviceFeatures() {
    writeRegister(REG_DEVICE_FEATURES_SEL, 0);
    long low = Integer.toUnsignedLong(readRegister(REG_DEVICE_FEATURES));
    writeRegister(REG_DEVICE_FEATURES_SEL, 1);
    long high = Integer.toUnsignedLong(readRegister(REG_DEVICE_FEATURES));
    return low | (high << 32);
  }

  /** Runs the whole probe, accepting everything offered, with queues of {@code queueSize}. */
  public VirtioDriver start(int queueSize) {
    return start(deviceFeatures(), queueSize);
  }

  /** Runs the probe accepting {@code features}; queues of {@code queueSize}; DRIVER_OK. */
  public VirtioDriver start(long features, int queueSize) {
    negotiate(features);
    for (int i = 0; i < device.queueCount(); i++) {
      setUpQueue(i, queueSize);
    }
    setStatus(readRegister(REG_STATUS) | Virtio.STATUS_DRIVER_OK);
    return this;
  }

  /** ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
  public void negotiate(long features) {
    writeRegister(REG_STATUS, 0);
    setStatus(Virtio.STATUS_ACKNOWLEDGE);
    setStatus(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
    writeRegister(REG_DRIVER_FEATURES_SEL, 0);
    writeRegister(REG_DRIVER_FEATURES, (int) features);
    writeRegister(REG_DRIVER_FEATURES_SEL, 1);
    writeRegister(REG_DRIVER_FEATURES, (int) (features >>> 32));
    setStatus(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
  }

  /** Lays out queue {@code index} in test memory and makes it ready. */
  public DriverQueue setUpQueue(int index, int size) {
    DriverQueue q = new DriverQueue(memory, QUEUE_AREA * (index + 1), size, QUEUE_AREA / 2);
    writeRegister(REG_QUEUE_SEL, index);
    writeRegister(REG_QUEUE_NUM, size);
    writeAddress(REG_QUEUE_DESC_LOW, q.descriptorTable());
    writeAddress(REG_QUEUE_DRIVER_LOW, q.availRing());
    writeAddress(REG_QUEUE_DEVICE_LOW, q.usedRing());
    writeRegister(REG_QUEUE_READY, 1);
    while (queues.size() <= index) {
      queues.add(null);
    }
    queues.set(index, q);
    return q;
  }

  public void writeAddress(int lowRegister, long address) {
    writeRegister(lowRegister, (int) address);
    writeRegister(lowRegister + 4, (int) (address >>> 32));
  }

  public void setStatus(int status) {
    writeRegister(REG_STATUS, status);
  }

  public int status() {
    return readRegister(REG_STATUS);
  }

  public DriverQueue queue(int index) {
    return queues.get(index);
  }

  /** QueueNotify for {@code index}, as the guest would write it. */
  public void kick(int index) {
    writeRegister(REG_QUEUE_NOTIFY, index);
  }

  /** Reads {@code size} bytes of configuration space at {@code offset}. */
  public long config(int offset, int size) {
    return transport.read(CONFIG_SPACE + offset, size);
  }

  @Override
  public void close() {
    transport.shutdown();
    memory.close();
  }
}

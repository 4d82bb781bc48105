package run.cocoon.vmm.virtio;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import run.cocoon.vmm.devices.InterruptLine;
import run.cocoon.vmm.devices.MmioDevice;
import run.cocoon.vmm.devices.RateLimitedLog;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): register file, driver status state
 * machine, feature negotiation and queue setup for one {@link VirtioDevice}.
 *
 * <p>Guests control every access. Unknown offsets, wrong widths, illegal status transitions,
 * queue changes after FEATURES_OK/DRIVER_OK and unoffered feature bits are ignored with a
 * rate-limited warning and leave the state unchanged (#13 of the hostile-input list).
 *
 * <p>Queue notifications normally never reach this class: a KVM ioeventfd per queue catches the
 * QueueNotify write and wakes the queue's notifier thread. A QueueNotify that does exit (no
 * ioeventfd, as in unit tests) goes to {@code notifier}, which the VM points at the same eventfd.
 */
public final class MmioTransport implements MmioDevice {
  /** "virt", little-endian. */
  public static final int MAGIC = 0x7472_6976;
  public static final int VERSION = 2;
  /** Our vendor ID, "COCN" little-endian; drivers do not match on it. */
  public static final int VENDOR_ID = 0x4e43_4f43;
  /** Bytes of MMIO space the transport decodes (registers and configuration space). */
  public static final int WINDOW_BYTES = 0x1000;

  // Register offsets (virtio 1.2, table 4.1).
  public static final int REG_MAGIC = 0x000;
  public static final int REG_VERSION = 0x004;
  public static final int REG_DEVICE_ID = 0x008;
  public static final int REG_VENDOR_ID = 0x00c;
  public static final int REG_DEVICE_FEATURES = 0x010;
  public static final int REG_DEVICE_FEATURES_SEL = 0x014;
  public static final int REG_DRIVER_FEATURES = 0x020;
  public static final int REG_DRIVER_FEATURES_SEL = 0x024;
  public static final int REG_QUEUE_SEL = 0x030;
  public static final int REG_QUEUE_NUM_MAX = 0x034;
  public static final int REG_QUEUE_NUM = 0x038;
  public static final int REG_QUEUE_READY = 0x044;
  public static final int REG_QUEUE_NOTIFY = 0x050;
  public static final int REG_INTERRUPT_STATUS = 0x060;
  public static final int REG_INTERRUPT_ACK = 0x064;
  public static final int REG_STATUS = 0x070;
  public static final int REG_QUEUE_DESC_LOW = 0x080;
  public static final int REG_QUEUE_DESC_HIGH = 0x084;
  public static final int REG_QUEUE_DRIVER_LOW = 0x090;
  public static final int REG_QUEUE_DRIVER_HIGH = 0x094;
  public static final int REG_QUEUE_DEVICE_LOW = 0x0a0;
  public static final int REG_QUEUE_DEVICE_HIGH = 0x0a4;
  public static final int REG_SHM_SEL = 0x0ac;
  public static final int REG_SHM_LEN_LOW = 0x0b0;
  public static final int REG_SHM_LEN_HIGH = 0x0b4;
  public static final int REG_SHM_BASE_LOW = 0x0b8;
  public static final int REG_SHM_BASE_HIGH = 0x0bc;
  public static final int REG_CONFIG_GENERATION = 0x0fc;
  public static final int CONFIG_SPACE = 0x100;

  /** Transport features every device gets. */
  static final long TRANSPORT_FEATURES = Virtio.bit(Virtio.F_VERSION_1)
      | Virtio.bit(Virtio.F_EVENT_IDX) | Virtio.bit(Virtio.F_INDIRECT_DESC);

  private static final System.Logger LOG = System.getLogger(MmioTransport.class.getName());

  private final VirtioDevice device;
  private final GuestMemory memory;
  private final InterruptLine interrupt;
  private final IntConsumer notifier;
  private final RateLimitedLog warnings;
  private final QueueSetup[] queues;
  private final long offered;

  // Guarded by this.
  private int status;
  private int deviceFeaturesSel;
  private int driverFeaturesSel;
  private long driverFeatures;
  private int queueSel;
  private boolean active;
  // Raised from device threads, which never take this object's lock: a device's reset() may
  // wait for its threads while the vCPU thread holds the lock.
  private final AtomicInteger interruptStatus = new AtomicInteger();
  private final AtomicInteger configGeneration = new AtomicInteger();
  private volatile String needsResetReason;

  /** Per-queue registers as the driver wrote them. */
  private static final class QueueSetup {
    int size;
    boolean ready;
    long desc;
    long driver;
    long device;

    QueueConfig config() {
      return new QueueConfig(size, desc, driver, device);
    }
  }

  /**
   * @param notifier where an exiting QueueNotify goes (queue index); the VM passes a write to that
   *     queue's ioeventfd, so devices are always served on their notifier threads
   */
  public MmioTransport(VirtioDevice device, GuestMemory memory, InterruptLine interrupt,
      IntConsumer notifier) {
    int max = device.maxQueueSize();
    if (max < 1 || max > SplitQueue.MAX_SIZE || Integer.bitCount(max) != 1) {
      throw new IllegalArgumentException(device.name() + ": bad queue size " + max);
    }
    this.device = device;
    this.memory = memory;
    this.interrupt = interrupt;
    this.notifier = notifier;
    this.warnings = new RateLimitedLog("cocoon.vmm.virtio." + device.name());
    this.queues = new QueueSetup[device.queueCount()];
    for (int i = 0; i < queues.length; i++) {
      queues[i] = new QueueSetup();
    }
    this.offered = device.features() | TRANSPORT_FEATURES;
  }

  public VirtioDevice device() {
    return device;
  }

  /** The device status register (for tests and diagnostics). */
  public synchronized int status() {
    return needsResetReason == null ? status : status | Virtio.STATUS_DEVICE_NEEDS_RESET;
  }

  @Override
  public long read(long offset, int size) {
    if (offset >= CONFIG_SPACE) {
      return readConfig(offset - CONFIG_SPACE, size);
    }
    if (size != 4 || (offset & 3) != 0) {
      warnings.warn(device.name() + ": " + size + "-byte read of register 0x"
          + Long.toHexString(offset) + " ignored");
      return 0;
    }
    synchronized (this) {
      return Integer.toUnsignedLong(readRegister((int) offset));
    }
  }

  private int readRegister(int offset) {
    return switch (offset) {
      case REG_MAGIC -> MAGIC;
      case REG_VERSION -> VERSION;
      case REG_DEVICE_ID -> device.deviceId();
      case REG_VENDOR_ID -> VENDOR_ID;
      case REG_DEVICE_FEATURES -> deviceFeaturesSel > 1 ? 0
          : (int) (offered >>> (32 * deviceFeaturesSel));
      // QueueSel is a guest-written u32: compare unsigned, or 0x80000000 and up index negatively.
      case REG_QUEUE_NUM_MAX -> selectedQueueExists() ? device.maxQueueSize() : 0;
      case REG_QUEUE_READY -> selectedQueueExists() && queues[queueSel].ready ? 1 : 0;
      case REG_INTERRUPT_STATUS -> interruptStatus.get();
      case REG_STATUS -> status();
      case REG_CONFIG_GENERATION -> configGeneration.get();
      // No shared memory regions: a length of all ones says "none" (virtio 1.2, 4.2.2).
      case REG_SHM_LEN_LOW, REG_SHM_LEN_HIGH, REG_SHM_BASE_LOW, REG_SHM_BASE_HIGH -> -1;
      default -> {
        warnings.warn(device.name() + ": read of unknown register 0x" + Integer.toHexString(offset));
        yield 0;
      }
    };
  }

  private boolean selectedQueueExists() {
    return Integer.compareUnsigned(queueSel, queues.length) < 0;
  }

  private long readConfig(long offset, int size) {
    if ((size != 1 && size != 2 && size != 4) || offset + size > device.configSize()) {
      if (offset + size > device.configSize()) {
        warnings.warn(device.name() + ": config read past the end at 0x" + Long.toHexString(offset));
      } else {
        warnings.warn(device.name() + ": " + size + "-byte config read ignored");
      }
      return 0;
    }
    return device.readConfig((int) offset, size);
  }

  @Override
  public void write(long offset, int size, long value) {
    if (offset >= CONFIG_SPACE) {
      if ((size == 1 || size == 2 || size == 4) && offset - CONFIG_SPACE + size <= device.configSize()) {
        device.writeConfig((int) (offset - CONFIG_SPACE), size, value);
      } else {
        warnings.warn(device.name() + ": config write at 0x" + Long.toHexString(offset) + " ignored");
      }
      return;
    }
    if (size != 4 || (offset & 3) != 0) {
      warnings.warn(device.name() + ": " + size + "-byte write to register 0x"
          + Long.toHexString(offset) + " ignored");
      return;
    }
    int v = (int) value;
    if (offset == REG_QUEUE_NOTIFY) {
      // Outside the lock: the notifier may be a blocking eventfd write.
      boolean live;
      synchronized (this) {
        live = active && Integer.compareUnsigned(v, queues.length) < 0;
      }
      if (live) {
        notifier.accept(v);
      } else {
        warnings.warn(device.name() + ": notify of queue " + Integer.toUnsignedString(v)
            + " while not live ignored");
      }
      return;
    }
    synchronized (this) {
      writeRegister((int) offset, v);
    }
  }

  private void writeRegister(int offset, int v) {
    switch (offset) {
      case REG_DEVICE_FEATURES_SEL -> deviceFeaturesSel = v;
      case REG_DRIVER_FEATURES_SEL -> driverFeaturesSel = v;
      case REG_DRIVER_FEATURES -> writeDriverFeatures(v);
      case REG_QUEUE_SEL -> queueSel = v;
      case REG_QUEUE_NUM -> {
        QueueSetup q = settableQueue("QueueNum");
        if (q != null) {
          q.size = v;
        }
      }
      case REG_QUEUE_READY -> writeQueueReady(v);
      case REG_QUEUE_DESC_LOW -> setAddress(v, false, (q, a) -> q.desc = a, q -> q.desc);
      case REG_QUEUE_DESC_HIGH -> setAddress(v, true, (q, a) -> q.desc = a, q -> q.desc);
      case REG_QUEUE_DRIVER_LOW -> setAddress(v, false, (q, a) -> q.driver = a, q -> q.driver);
      case REG_QUEUE_DRIVER_HIGH -> setAddress(v, true, (q, a) -> q.driver = a, q -> q.driver);
      case REG_QUEUE_DEVICE_LOW -> setAddress(v, false, (q, a) -> q.device = a, q -> q.device);
      case REG_QUEUE_DEVICE_HIGH -> setAddress(v, true, (q, a) -> q.device = a, q -> q.device);
      case REG_INTERRUPT_ACK -> acknowledge(v);
      case REG_STATUS -> writeStatus(v);
      case REG_SHM_SEL -> { } // no shared memory regions; selecting one is harmless
      default -> warnings.warn(device.name() + ": write to unknown or read-only register 0x"
          + Integer.toHexString(offset) + " ignored");
    }
  }

  private void writeDriverFeatures(int v) {
    if (status != (Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER)) {
      warnings.warn(device.name() + ": driver features written in status 0x"
          + Integer.toHexString(status) + " ignored");
      return;
    }
    if (driverFeaturesSel > 1) {
      warnings.warn(device.name() + ": driver features word " + driverFeaturesSel + " ignored");
      return;
    }
    int shift = 32 * driverFeaturesSel;
    long word = Integer.toUnsignedLong(v) << shift;
    long unoffered = word & ~offered;
    if (unoffered != 0) {
      warnings.warn(device.name() + ": driver accepted unoffered features 0x"
          + Long.toHexString(unoffered) + "; write ignored");
      return;
    }
    driverFeatures = (driverFeatures & ~(0xffff_ffffL << shift)) | word;
  }

  /** The selected queue if its registers may change now (before DRIVER_OK, not ready). */
  private QueueSetup settableQueue(String register) {
    if (Integer.compareUnsigned(queueSel, queues.length) >= 0) {
      warnings.warn(device.name() + ": " + register + " for missing queue "
          + Integer.toUnsignedString(queueSel) + " ignored");
      return null;
    }
    if ((status & Virtio.STATUS_FEATURES_OK) == 0 || (status & Virtio.STATUS_DRIVER_OK) != 0
        || (status & Virtio.STATUS_FAILED) != 0) {
      warnings.warn(device.name() + ": " + register + " written in status 0x"
          + Integer.toHexString(status) + " ignored");
      return null;
    }
    QueueSetup q = queues[queueSel];
    if (q.ready) {
      warnings.warn(device.name() + ": " + register + " of a ready queue ignored");
      return null;
    }
    return q;
  }

  private interface AddressSetter {
    void set(QueueSetup q, long address);
  }

  private interface AddressGetter {
    long get(QueueSetup q);
  }

  private void setAddress(int v, boolean high, AddressSetter setter, AddressGetter getter) {
    QueueSetup q = settableQueue("queue address");
    if (q == null) {
      return;
    }
    long old = getter.get(q);
    long word = Integer.toUnsignedLong(v);
    setter.set(q, high ? (old & 0xffff_ffffL) | (word << 32) : (old & ~0xffff_ffffL) | word);
  }

  private void writeQueueReady(int v) {
    if (v == 0) {
      if (Integer.compareUnsigned(queueSel, queues.length) < 0 && (status & Virtio.STATUS_DRIVER_OK) == 0) {
        queues[queueSel].ready = false;
      } else {
        warnings.warn(device.name() + ": QueueReady=0 ignored");
      }
      return;
    }
    QueueSetup q = settableQueue("QueueReady");
    if (q == null) {
      return;
    }
    try {
      SplitQueue.activate(memory, q.config(), device.maxQueueSize(), false, false);
      q.ready = true;
    } catch (QueueException.BadSetup e) {
      // The register reads back 0; Linux then fails the probe with a clear error.
      warnings.warn(device.name() + ": queue " + queueSel + " not made ready: " + e.getMessage());
    }
  }

  private void acknowledge(int v) {
    interruptStatus.getAndUpdate(bits -> bits & ~v);
  }

  private void writeStatus(int v) {
    if (v == 0) {
      reset();
      return;
    }
    if ((v & Virtio.STATUS_FAILED) != 0) {
      // The driver gave up. Stop serving; only a reset brings the device back.
      status |= Virtio.STATUS_FAILED;
      deactivate();
      return;
    }
    int added = v & ~status;
    if ((v & status) != status || Integer.bitCount(added) != 1) {
      illegalStatus(v);
      return;
    }
    switch (added) {
      case Virtio.STATUS_ACKNOWLEDGE -> {
        if (status != 0) {
          illegalStatus(v);
          return;
        }
      }
      case Virtio.STATUS_DRIVER -> {
        if (status != Virtio.STATUS_ACKNOWLEDGE) {
          illegalStatus(v);
          return;
        }
      }
      case Virtio.STATUS_FEATURES_OK -> {
        if (status != (Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER)) {
          illegalStatus(v);
          return;
        }
        if ((driverFeatures & Virtio.bit(Virtio.F_VERSION_1)) == 0) {
          // Leaving FEATURES_OK clear tells the driver the feature set was refused.
          warnings.warn(device.name() + ": driver did not accept VERSION_1; FEATURES_OK refused");
          return;
        }
      }
      case Virtio.STATUS_DRIVER_OK -> {
        if (status != (Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK)) {
          illegalStatus(v);
          return;
        }
        status = v;
        activate();
        return;
      }
      default -> {
        illegalStatus(v);
        return;
      }
    }
    status = v;
  }

  private void illegalStatus(int v) {
    warnings.warn(device.name() + ": status 0x" + Integer.toHexString(v) + " after 0x"
        + Integer.toHexString(status) + " is not a legal transition; ignored");
  }

  private void activate() {
    List<SplitQueue> ready = new ArrayList<>();
    boolean eventIdx = (driverFeatures & Virtio.bit(Virtio.F_EVENT_IDX)) != 0;
    boolean indirect = (driverFeatures & Virtio.bit(Virtio.F_INDIRECT_DESC)) != 0;
    try {
      for (int i = 0; i < queues.length; i++) {
        if (!queues[i].ready) {
          throw new QueueException.BadSetup("queue " + i + " is not ready");
        }
        ready.add(SplitQueue.activate(memory, queues[i].config(), device.maxQueueSize(),
            eventIdx, indirect));
      }
      device.activate(new ActiveDevice(memory, ready, driverFeatures, signals()));
      active = true;
    } catch (QueueException.BadSetup e) {
      markNeedsReset("activation failed: " + e.getMessage());
    }
  }

  private ActiveDevice.Signals signals() {
    return new ActiveDevice.Signals() {
      @Override
      public void usedBuffers() {
        raise(Virtio.INTERRUPT_USED_BUFFER);
      }

      @Override
      public void configChanged() {
        configGeneration.incrementAndGet();
        raise(Virtio.INTERRUPT_CONFIG_CHANGE);
      }

      @Override
      public void needsReset(String reason) {
        markNeedsReset(reason);
      }
    };
  }

  /**
   * Sets DEVICE_NEEDS_RESET and tells the driver; lock-free so device threads may call it. The
   * device has already stopped serving (or never started); the driver's reset clears the state.
   */
  private void markNeedsReset(String reason) {
    if (needsResetReason == null) {
      needsResetReason = reason;
      LOG.log(Level.WARNING, device.name() + " stopped, needs reset: " + reason);
      configGeneration.incrementAndGet();
      raise(Virtio.INTERRUPT_CONFIG_CHANGE);
    }
  }

  private void raise(int bit) {
    interruptStatus.getAndUpdate(bits -> bits | bit);
    interrupt.trigger();
  }

  private void deactivate() {
    if (active) {
      active = false;
      device.reset();
    }
  }

  private void reset() {
    deactivate();
    needsResetReason = null;
    status = 0;
    deviceFeaturesSel = 0;
    driverFeaturesSel = 0;
    driverFeatures = 0;
    queueSel = 0;
    interruptStatus.set(0);
    for (int i = 0; i < queues.length; i++) {
      queues[i] = new QueueSetup();
    }
  }

  /** Whether the device is serving its queues. */
  public synchronized boolean isActive() {
    return active;
  }

  /** Stops the device when the VM ends. */
  public synchronized void shutdown() {
    deactivate();
  }
}

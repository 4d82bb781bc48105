package run.cocoon.vmm.virtio;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The device side of one split virtqueue (virtio 1.2, 2.7) in guest memory. Every index, address
 * and length read from the guest is checked before use: a malformed chain fails that request
 * ({@link QueueException.BadChain}), an inconsistent ring stops the device
 * ({@link QueueException.Broken}). Not thread-safe: one thread serves a queue at a time.
 */
public final class SplitQueue {
  /** Largest queue size a device may offer (the split ring's 16-bit indices allow 32768). */
  public static final int MAX_SIZE = 32768;
  /** Most entries in one indirect descriptor table. */
  public static final int MAX_INDIRECT_DESCRIPTORS = 1024;

  static final int DESC_F_NEXT = 1;
  static final int DESC_F_WRITE = 2;
  static final int DESC_F_INDIRECT = 4;
  static final int AVAIL_F_NO_INTERRUPT = 1;
  private static final long MAX_CHAIN_BYTES = 0xffff_ffffL;

  private final GuestMemory memory;
  private final QueueConfig config;
  private final boolean eventIdx;
  private final boolean indirect;
  private int nextAvail; // free-running 16-bit counters, kept in an int and masked
  private int nextUsed;
  private int signalledUsed;
  private boolean signalledValid;

  private SplitQueue(GuestMemory memory, QueueConfig config, boolean eventIdx, boolean indirect) {
    this.memory = memory;
    this.config = config;
    this.eventIdx = eventIdx;
    this.indirect = indirect;
    // A queue starts with both indices at 0 (virtio 1.2, 2.7.13); we never trust the ring's.
    this.nextUsed = 0;
    this.nextAvail = 0;
    memory.writeU16(config.usedRing() + 2, 0);
  }

  /**
   * Checks a driver's queue configuration (#4, #5, #6 of hostile inputs) and returns the queue.
   *
   * @param maxSize the size the device offered (QueueNumMax)
   */
  public static SplitQueue activate(GuestMemory memory, QueueConfig config, int maxSize,
      boolean eventIdx, boolean indirect) throws QueueException.BadSetup {
    int size = config.size();
    if (size == 0 || size > maxSize || Integer.bitCount(size) != 1) {
      throw new QueueException.BadSetup("queue size " + size
          + " must be a power of two between 1 and " + maxSize);
    }
    checkRegion(memory, "descriptor table", config.descriptorTable(),
        config.descriptorTableBytes(), QueueConfig.DESCRIPTOR_ALIGN);
    checkRegion(memory, "available ring", config.availRing(), config.availRingBytes(),
        QueueConfig.AVAIL_ALIGN);
    checkRegion(memory, "used ring", config.usedRing(), config.usedRingBytes(),
        QueueConfig.USED_ALIGN);
    return new SplitQueue(memory, config, eventIdx, indirect);
  }

  private static void checkRegion(GuestMemory memory, String what, long address, long bytes,
      int align) throws QueueException.BadSetup {
    if ((address & (align - 1)) != 0) {
      throw new QueueException.BadSetup(what + " at 0x" + Long.toHexString(address)
          + " is not " + align + "-byte aligned");
    }
    if (!memory.isRam(address, bytes)) {
      throw new QueueException.BadSetup(what + " at 0x" + Long.toHexString(address) + "+" + bytes
          + " is not guest RAM");
    }
  }

  public QueueConfig config() {
    return config;
  }

  public int size() {
    return config.size();
  }

  private int availIdx() {
    int idx = memory.readU16(config.availRing() + 2);
    VarHandle.acquireFence(); // ring entries and descriptors are read after the index
    return idx;
  }

  /** Requests the driver published that the device has not taken yet. */
  public int pending() throws QueueException.Broken {
    int waiting = (availIdx() - nextAvail) & 0xffff;
    if (waiting > config.size()) {
      throw new QueueException.Broken("available index moved " + waiting
          + " entries ahead on a queue of " + config.size());
    }
    return waiting;
  }

  /**
   * Takes the next request, or returns null when the ring is empty.
   *
   * @throws QueueException.BadChain when the request is malformed (its head is consumed)
   * @throws QueueException.Broken when the ring is inconsistent
   */
  public DescriptorChain pop() throws QueueException.BadChain, QueueException.Broken {
    if (pending() == 0) {
      return null;
    }
    int slot = nextAvail & (config.size() - 1);
    int head = memory.readU16(config.availRing() + 4 + 2L * slot);
    nextAvail = (nextAvail + 1) & 0xffff;
    return walk(head);
  }

  private DescriptorChain walk(int head) throws QueueException.BadChain {
    int size = config.size();
    if (head >= size) {
      throw new QueueException.BadChain(head, "head index is outside a queue of " + size);
    }
    List<Descriptor> out = new ArrayList<>();
    long total = 0;
    int index = head;
    int seen = 0;
    while (true) {
      if (++seen > size) {
        throw new QueueException.BadChain(head, "chain longer than the queue (a loop)");
      }
      long entry = config.descriptorTable() + 16L * index;
      long address = memory.readU64(entry);
      long length = Integer.toUnsignedLong(memory.readU32(entry + 8));
      int flags = memory.readU16(entry + 12);
      int next = memory.readU16(entry + 14);
      if ((flags & DESC_F_INDIRECT) != 0) {
        if (!indirect) {
          throw new QueueException.BadChain(head, "indirect descriptor, feature not negotiated");
        }
        if ((flags & DESC_F_NEXT) != 0) {
          throw new QueueException.BadChain(head, "indirect descriptor with NEXT set");
        }
        total = walkIndirect(head, address, length, out, total);
        break;
      }
      total = add(head, out, total, address, length, (flags & DESC_F_WRITE) != 0);
      if ((flags & DESC_F_NEXT) == 0) {
        break;
      }
      if (next >= size) {
        throw new QueueException.BadChain(head, "next index " + next + " is outside the queue");
      }
      index = next;
    }
    return new DescriptorChain(head, out);
  }

  private long walkIndirect(int head, long table, long length, List<Descriptor> out, long total)
      throws QueueException.BadChain {
    if (length == 0 || length % 16 != 0 || length / 16 > MAX_INDIRECT_DESCRIPTORS) {
      throw new QueueException.BadChain(head, "indirect table of " + length
          + " bytes (must be a non-zero multiple of 16, at most "
          + MAX_INDIRECT_DESCRIPTORS + " entries)");
    }
    // No alignment check: the specification asks none for indirect tables (Linux kmallocs
    // them), and every read below is bounds-checked and alignment-free.
    if (!memory.isRam(table, length)) {
      throw new QueueException.BadChain(head, "indirect table at 0x" + Long.toHexString(table)
          + "+" + length + " is not guest RAM in one region");
    }
    int count = (int) (length / 16);
    int index = 0;
    int seen = 0;
    while (true) {
      if (++seen > count) {
        throw new QueueException.BadChain(head, "indirect chain loops");
      }
      long entry = table + 16L * index;
      long address = memory.readU64(entry);
      long len = Integer.toUnsignedLong(memory.readU32(entry + 8));
      int flags = memory.readU16(entry + 12);
      int next = memory.readU16(entry + 14);
      if ((flags & DESC_F_INDIRECT) != 0) {
        throw new QueueException.BadChain(head, "nested indirect table");
      }
      total = add(head, out, total, address, len, (flags & DESC_F_WRITE) != 0);
      if ((flags & DESC_F_NEXT) == 0) {
        return total;
      }
      if (next >= count) {
        throw new QueueException.BadChain(head, "indirect next index " + next + " is outside the table");
      }
      index = next;
    }
  }

  private long add(int head, List<Descriptor> out, long total, long address, long length,
      boolean writable) throws QueueException.BadChain {
    long sum = total + length;
    if (sum > MAX_CHAIN_BYTES) {
      throw new QueueException.BadChain(head, "buffer lengths add up to more than 4 GiB");
    }
    if (length > 0 && !memory.isRam(address, length)) {
      throw new QueueException.BadChain(head, "buffer 0x" + Long.toHexString(address) + "+"
          + length + " is not guest RAM in one region");
    }
    out.add(new Descriptor(address, length, writable));
    return sum;
  }

  /** Returns a request to the driver with {@code written} bytes written into its buffers. */
  public void addUsed(int head, long written) {
    int slot = nextUsed & (config.size() - 1);
    long element = config.usedRing() + 4 + 8L * slot;
    memory.writeU32(element, head);
    memory.writeU32(element + 4, (int) written);
    nextUsed = (nextUsed + 1) & 0xffff;
    VarHandle.releaseFence(); // the element is visible before the index that publishes it
    memory.writeU16(config.usedRing() + 2, nextUsed);
  }

  /**
   * Whether the driver wants an interrupt for the used elements added since the last call
   * (used_event with EVENT_IDX, else the NO_INTERRUPT flag). Call once after a batch.
   */
  public boolean needsInterrupt() {
    VarHandle.fullFence(); // our used index is visible before we read the driver's wish
    if (!eventIdx) {
      return (memory.readU16(config.availRing()) & AVAIL_F_NO_INTERRUPT) == 0;
    }
    int old = signalledUsed;
    int now = nextUsed;
    boolean valid = signalledValid;
    signalledUsed = now;
    signalledValid = true;
    if (!valid) {
      return true;
    }
    int usedEvent = memory.readU16(config.availRing() + 4 + 2L * config.size());
    // vring_need_event: interrupt when used_event lies in [old, now).
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  /**
   * With EVENT_IDX, asks the driver to notify again once it adds the entry after the ones taken
   * so far, then says whether more arrived meanwhile (the caller should keep popping when true).
   * Without EVENT_IDX only the second part applies.
   */
  public boolean rearm() throws QueueException.Broken {
    if (eventIdx) {
      memory.writeU16(config.usedRing() + 4 + 8L * config.size(), nextAvail);
      VarHandle.fullFence(); // publish avail_event before re-reading avail idx
    }
    return pending() > 0;
  }
}

package run.cocoon.vmm.virtio.testing;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.virtio.QueueConfig;

/**
 * The driver side of one split virtqueue, written into test guest memory exactly as a guest
 * driver would: a descriptor table, an available ring and a used ring, plus a bump allocator
 * for buffers. Tests put requests in with {@link #add}, and may corrupt any field directly.
 */
public final class DriverQueue {
  public static final int F_NEXT = 1;
  public static final int F_WRITE = 2;
  public static final int F_INDIRECT = 4;

  /** One buffer of a request being built. */
  public record Buffer(long address, int length, boolean writable) {}

  /** A used element as the device returned it. */
  public record Used(int head, int length) {}

  private final GuestMemory memory;
  private final int size;
  private final long desc;
  private final long avail;
  private final long used;
  private long heap;
  private final long heapEnd;
  private int nextDescriptor;
  private int availIdx;
  private int usedSeen;

  /**
   * Lays out a queue of {@code size} at {@code base} and uses the following {@code heapBytes} for
   * buffers.
   */
  public DriverQueue(GuestMemory memory, long base, int size, long heapBytes) {
    this.memory = memory;
    this.size = size;
    this.desc = base;
    this.avail = align(desc + 16L * size, 2);
    this.used = align(avail + 6 + 2L * size, 4096);
    this.heap = align(used + 6 + 8L * size, 4096);
    this.heapEnd = heap + heapBytes;
    memory.fill(base, heapEnd - base, (byte) 0);
  }

  private static long align(long v, long a) {
    return (v + a - 1) & -a;
  }

  public QueueConfig config() {
    return new QueueConfig(size, desc, avail, used);
  }

  public int size() {
    return size;
  }

  public long descriptorTable() {
    return desc;
  }

  public long availRing() {
    return avail;
  }

  public long usedRing() {
    return used;
  }

  public GuestMemory memory() {
    return memory;
  }

  /** Allocates {@code length} bytes of buffer space (zeroed). */
  public long allocate(int length) {
    long at = align(heap, 8);
    if (at + length > heapEnd) {
      throw new IllegalStateException("test queue heap exhausted");
    }
    heap = at + length;
    memory.fill(at, length, (byte) 0);
    return at;
  }

  /** A readable buffer holding {@code data}. */
  public Buffer readable(byte[] data) {
    long at = allocate(data.length);
    memory.write(at, data);
    return new Buffer(at, data.length, false);
  }

  /** A writable buffer of {@code length} bytes. */
  public Buffer writable(int length) {
    return new Buffer(allocate(length), length, true);
  }

  /** Writes descriptor {@code index} directly. */
  public void writeDescriptor(int index, long address, int length, int flags, int next) {
    long e = desc + 16L * index;
    memory.writeU64(e, address);
    memory.writeU32(e + 8, length);
    memory.writeU16(e + 12, flags);
    memory.writeU16(e + 14, next);
  }

  /** Chains {@code buffers} into fresh descriptors and publishes the head; returns the head. */
  public int add(List<Buffer> buffers) {
    int head = nextDescriptor;
    for (int i = 0; i < buffers.size(); i++) {
      Buffer b = buffers.get(i);
      int index = (head + i) % size;
      boolean last = i == buffers.size() - 1;
      writeDescriptor(index, b.address(), b.length(),
          (b.writable() ? F_WRITE : 0) | (last ? 0 : F_NEXT), last ? 0 : (index + 1) % size);
    }
    nextDescriptor = (head + buffers.size()) % size;
    publish(head);
    return head;
  }

  /** Builds an indirect table holding {@code buffers} and publishes one descriptor pointing at it. */
  public int addIndirect(List<Buffer> buffers) {
    long table = allocate(16 * buffers.size());
    for (int i = 0; i < buffers.size(); i++) {
      Buffer b = buffers.get(i);
      boolean last = i == buffers.size() - 1;
      long e = table + 16L * i;
      memory.writeU64(e, b.address());
      memory.writeU32(e + 8, b.length());
      memory.writeU16(e + 12, (b.writable() ? F_WRITE : 0) | (last ? 0 : F_NEXT));
      memory.writeU16(e + 14, last ? 0 : i + 1);
    }
    int head = nextDescriptor;
    writeDescriptor(head, table, 16 * buffers.size(), F_INDIRECT, 0);
    nextDescriptor = (head + 1) % size;
    publish(head);
    return head;
  }

  /** Puts {@code head} in the next available slot and bumps avail.idx. */
  public void publish(int head) {
    memory.writeU16(avail + 4 + 2L * (availIdx % size), head);
    availIdx = (availIdx + 1) & 0xffff;
    VarHandle.releaseFence(); // a device thread may be reading: the entry before the index
    memory.writeU16(avail + 2, availIdx);
  }

  /** Sets avail.idx to any value (to model a lying driver). */
  public void setAvailIdx(int value) {
    availIdx = value & 0xffff;
    memory.writeU16(avail + 2, availIdx);
  }

  /** Sets the avail ring flags (NO_INTERRUPT is 1). */
  public void setAvailFlags(int flags) {
    memory.writeU16(avail, flags);
  }

  /** Sets used_event (the driver's EVENT_IDX wish). */
  public void setUsedEvent(int value) {
    memory.writeU16(avail + 4 + 2L * size, value);
  }

  /** The device's avail_event. */
  public int availEvent() {
    return memory.readU16(used + 4 + 8L * size);
  }

  public int usedIdx() {
    return memory.readU16(used + 2);
  }

  /** Used elements added since the last call. */
  public List<Used> takeUsed() {
    List<Used> out = new ArrayList<>();
    int idx = usedIdx();
    VarHandle.acquireFence(); // a device thread published the elements before the index
    while (usedSeen != idx) {
      long e = used + 4 + 8L * (usedSeen % size);
      out.add(new Used(memory.readU32(e), memory.readU32(e + 4)));
      usedSeen = (usedSeen + 1) & 0xffff;
    }
    return out;
  }

  /** Bytes at a guest address. */
  public byte[] read(long address, int length) {
    return memory.read(address, length);
  }
}

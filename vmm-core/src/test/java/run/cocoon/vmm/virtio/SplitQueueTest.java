package run.cocoon.vmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.DriverQueue.Buffer;

/** The queue walker against rings a driver (or an attacker) wrote: hostile inputs #1-#9. */
class SplitQueueTest {
  private static final int SIZE = 8;
  // Two RAM regions with a hole between them, like RAM around the MMIO hole.
  private final MmapGuestMemory memory = MmapGuestMemory.allocate(
      List.of(new long[] {0, 4L << 20}, new long[] {8L << 20, 1L << 20}));
  private final DriverQueue driver = new DriverQueue(memory, 0x10000, SIZE, 1 << 20);

  @AfterEach
  void close() {
    memory.close();
  }

  private SplitQueue queue(boolean eventIdx, boolean indirect) throws QueueException.BadSetup {
    return SplitQueue.activate(memory, driver.config(), SIZE, eventIdx, indirect);
  }

  @Test
  void aChainComesOutAsTheDriverBuiltIt() throws Exception {
    SplitQueue q = queue(false, false);
    Buffer header = driver.readable(new byte[16]);
    Buffer data = driver.writable(512);
    int head = driver.add(List.of(header, data));
    DescriptorChain chain = q.pop();
    assertEquals(head, chain.head());
    assertEquals(List.of(new Descriptor(header.address(), 16, false),
        new Descriptor(data.address(), 512, true)), chain.descriptors());
    assertNull(q.pop());
    q.addUsed(head, 512);
    assertEquals(List.of(new DriverQueue.Used(head, 512)), driver.takeUsed());
  }

  @Test
  void anIndirectTableIsFlattened() throws Exception {
    SplitQueue q = queue(false, true);
    Buffer a = driver.readable(new byte[8]);
    Buffer b = driver.writable(4);
    driver.addIndirect(List.of(a, b));
    DescriptorChain chain = q.pop();
    assertEquals(2, chain.descriptors().size());
    assertEquals(8, chain.readableBytes());
    assertEquals(4, chain.writableBytes());
  }

  @Test
  void anIndirectTableNeedsNoAlignment() throws Exception {
    SplitQueue q = queue(false, true);
    long table = driver.allocate(8 + 16) + 8;
    memory.writeU64(table, driver.allocate(4));
    memory.writeU32(table + 8, 4);
    driver.writeDescriptor(0, table, 16, DriverQueue.F_INDIRECT, 0);
    driver.publish(0);
    assertEquals(4, q.pop().readableBytes());
  }

  @Test
  void selfLoopAndLongLoopsStopAfterQueueSizeDescriptors() throws Exception {
    SplitQueue q = queue(false, false);
    long buf = driver.allocate(8);
    driver.writeDescriptor(0, buf, 8, DriverQueue.F_NEXT, 0); // self-loop
    driver.publish(0);
    QueueException.BadChain e = assertThrows(QueueException.BadChain.class, q::pop);
    assertTrue(e.getMessage().contains("loop"), e.getMessage());
    assertEquals(0, e.head());
    driver.writeDescriptor(1, buf, 8, DriverQueue.F_NEXT, 2);
    driver.writeDescriptor(2, buf, 8, DriverQueue.F_NEXT, 1); // 1 -> 2 -> 1
    driver.publish(1);
    assertThrows(QueueException.BadChain.class, q::pop);
    assertNull(q.pop(), "the walker went on to the next slot, not hung");
  }

  @Test
  void headOrNextOutsideTheQueueIsRejected() throws Exception {
    SplitQueue q = queue(false, false);
    driver.publish(SIZE); // head == size
    assertThrows(QueueException.BadChain.class, q::pop);
    driver.writeDescriptor(3, driver.allocate(4), 4, DriverQueue.F_NEXT, 0xffff);
    driver.publish(3);
    QueueException.BadChain e = assertThrows(QueueException.BadChain.class, q::pop);
    assertTrue(e.getMessage().contains("next index"), e.getMessage());
  }

  @Test
  void anAvailIndexThatJumpsPastTheQueueBreaksTheQueue() throws Exception {
    SplitQueue q = queue(false, false);
    driver.setAvailIdx(SIZE + 1);
    QueueException.Broken e = assertThrows(QueueException.Broken.class, q::pop);
    assertTrue(e.getMessage().contains("available index"), e.getMessage());
  }

  @Test
  void queueSetupIsChecked() {
    for (int size : new int[] {0, 3, SIZE * 2}) {
      QueueConfig c = new QueueConfig(size, driver.descriptorTable(), driver.availRing(), driver.usedRing());
      assertThrows(QueueException.BadSetup.class, () -> SplitQueue.activate(memory, c, SIZE, false, false),
          "size " + size);
    }
    QueueConfig misaligned = new QueueConfig(SIZE, driver.descriptorTable() + 8, driver.availRing(),
        driver.usedRing());
    assertTrue(assertThrows(QueueException.BadSetup.class,
        () -> SplitQueue.activate(memory, misaligned, SIZE, false, false)).getMessage().contains("aligned"));
    QueueConfig usedMisaligned = new QueueConfig(SIZE, driver.descriptorTable(), driver.availRing(),
        driver.usedRing() + 2);
    assertThrows(QueueException.BadSetup.class,
        () -> SplitQueue.activate(memory, usedMisaligned, SIZE, false, false));
    for (long garbage : new long[] {5L << 20, 0xffff_ffff_ffff_fff0L, (4L << 20) - 16}) {
      QueueConfig c = new QueueConfig(SIZE, garbage, driver.availRing(), driver.usedRing());
      assertThrows(QueueException.BadSetup.class, () -> SplitQueue.activate(memory, c, SIZE, false, false),
          Long.toHexString(garbage));
    }
  }

  @Test
  void buffersOutsideRamInAHoleAcrossRegionsOrWrappingAreRejected() throws Exception {
    SplitQueue q = queue(false, false);
    long[][] bad = {
        {5L << 20, 16},                      // in the hole
        {(4L << 20) - 8, 16},                // runs from RAM into the hole
        {16L << 20, 16},                     // beyond RAM
        {0xffff_ffff_ffff_fff0L, 0x20},      // wraps 2^64
    };
    for (long[] b : bad) {
      driver.add(List.of(new Buffer(b[0], (int) b[1], false)));
      assertThrows(QueueException.BadChain.class, q::pop, Long.toHexString(b[0]));
    }
  }

  @Test
  void lengthsThatOverflow32BitsAreRejected() throws Exception {
    SplitQueue q = queue(false, true);
    // Every buffer is real RAM (the same 4 MiB at 0, which is allowed): only the sum can be
    // refused. One direct descriptor and a full indirect table of them make 1025 x 4 MiB.
    int fourMiB = 4 << 20;
    int entries = SplitQueue.MAX_INDIRECT_DESCRIPTORS;
    long table = driver.allocate(16 * entries);
    for (int i = 0; i < entries; i++) {
      long d = table + 16L * i;
      memory.writeU64(d, 0);
      memory.writeU32(d + 8, fourMiB);
      memory.writeU16(d + 12, i + 1 < entries ? DriverQueue.F_NEXT : 0);
      memory.writeU16(d + 14, i + 1);
    }
    driver.writeDescriptor(0, 0, fourMiB, DriverQueue.F_NEXT, 1);
    driver.writeDescriptor(1, table, 16 * entries, DriverQueue.F_INDIRECT, 0);
    driver.publish(0);
    QueueException.BadChain e = assertThrows(QueueException.BadChain.class, q::pop);
    assertTrue(e.getMessage().contains("add up to more than 4 GiB"), e.getMessage());
  }

  @Test
  void nestedOrMalformedIndirectTablesAreRejected() throws Exception {
    SplitQueue q = queue(false, true);
    long inner = driver.allocate(16);
    long table = driver.allocate(16);
    memory.writeU64(table, inner);
    memory.writeU32(table + 8, 16);
    memory.writeU16(table + 12, DriverQueue.F_INDIRECT);
    driver.writeDescriptor(0, table, 16, DriverQueue.F_INDIRECT, 0);
    driver.publish(0);
    assertTrue(assertThrows(QueueException.BadChain.class, q::pop).getMessage().contains("nested"));

    driver.writeDescriptor(1, table, 17, DriverQueue.F_INDIRECT, 0); // not a multiple of 16
    driver.publish(1);
    assertThrows(QueueException.BadChain.class, q::pop);
    driver.writeDescriptor(2, table, 0, DriverQueue.F_INDIRECT, 0); // empty
    driver.publish(2);
    assertThrows(QueueException.BadChain.class, q::pop);
    driver.writeDescriptor(3, table, 16, DriverQueue.F_INDIRECT | DriverQueue.F_NEXT, 4);
    driver.publish(3);
    assertThrows(QueueException.BadChain.class, q::pop);
    memory.writeU16(table + 12, DriverQueue.F_NEXT); // indirect entry pointing at itself
    memory.writeU16(table + 14, 0);
    driver.writeDescriptor(4, table, 16, DriverQueue.F_INDIRECT, 0);
    driver.publish(4);
    assertTrue(assertThrows(QueueException.BadChain.class, q::pop).getMessage().contains("loop"));
  }

  @Test
  void indirectWithoutTheFeatureIsRejected() throws Exception {
    SplitQueue q = queue(false, false);
    driver.addIndirect(List.of(driver.readable(new byte[4])));
    assertThrows(QueueException.BadChain.class, q::pop);
  }

  @Test
  void eventIdxSuppressesInterruptsUntilUsedEventIsPassed() throws Exception {
    SplitQueue q = queue(true, false);
    for (int i = 0; i < 3; i++) {
      driver.add(List.of(driver.writable(4)));
    }
    driver.setUsedEvent(2); // interrupt me once used idx passes 2
    q.addUsed(q.pop().head(), 0);
    assertTrue(q.needsInterrupt(), "the first batch always interrupts");
    q.addUsed(q.pop().head(), 0); // used idx 2: event 2 not yet passed
    assertFalse(q.needsInterrupt());
    q.addUsed(q.pop().head(), 0); // used idx 3: passed 2
    assertTrue(q.needsInterrupt());
    assertFalse(q.rearm());
    assertEquals(3, driver.availEvent(), "device asks to be notified for the next entry");
  }

  @Test
  void withoutEventIdxTheNoInterruptFlagIsHonoured() throws Exception {
    SplitQueue q = queue(false, false);
    driver.add(List.of(driver.writable(4)));
    driver.setAvailFlags(1);
    q.addUsed(q.pop().head(), 0);
    assertFalse(q.needsInterrupt());
    driver.setAvailFlags(0);
    assertTrue(q.needsInterrupt());
  }
}

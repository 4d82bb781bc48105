package run.cocoon.vmm.virtio.fuzz;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.virtio.Descriptor;
import run.cocoon.vmm.virtio.DescriptorChain;
import run.cocoon.vmm.virtio.QueueConfig;
import run.cocoon.vmm.virtio.QueueException;
import run.cocoon.vmm.virtio.SplitQueue;

/**
 * The split-queue walker against arbitrary bytes as descriptor table, available ring and buffer
 * memory, in guest RAM with a hole. Invariants: only the typed queue exceptions escape; every
 * buffer of a chain is RAM inside one region and the lengths add up to less than 4 GiB; the
 * walker takes at most what the driver published and never loops; the device writes nothing but
 * the used ring.
 */
class QueueWalkerFuzzTest {
  private static final int MAX_SIZE = 64;
  private static final long DESC = 0x1000;
  private static final long AVAIL = 0x2000;
  private static final long USED = 0x3000;
  private static final long HEAP = 0x4000;
  private static final long LOW_BYTES = 0x1_0000;
  private static final long HIGH_BASE = 0x2_0000; // RAM, a hole of 64 KiB, RAM
  private static final long HIGH_BYTES = 0x8000;
  private static final MmapGuestMemory MEMORY = MmapGuestMemory.allocate(
      List.of(new long[] {0, LOW_BYTES}, new long[] {HIGH_BASE, HIGH_BYTES}));

  @FuzzTest(maxDuration = "10m")
  void walk(byte[] bytes) throws Exception {
    run(bytes);
  }

  /** The same target over seeded random inputs, so the normal suite explores beyond the seeds. */
  @Test
  void randomInputs() throws Exception {
    long seed = Long.getLong("cocoon.fuzz.seed", FuzzInput.DEFAULT_SEED);
    System.out.println("QueueWalkerFuzzTest seed " + seed + " (-Dcocoon.fuzz.seed=" + seed + ")");
    Random random = new Random(seed);
    for (int i = 0; i < Integer.getInteger("cocoon.fuzz.iterations", 2000); i++) {
      run(FuzzInput.random(random, 2048));
    }
  }

  static void run(byte[] bytes) throws Exception {
    FuzzInput in = new FuzzInput(bytes);
    int size = 1 << in.intIn(0, 6);
    boolean eventIdx = in.bool();
    boolean indirect = in.bool();
    MEMORY.fill(0, LOW_BYTES, (byte) 0);
    MEMORY.fill(HIGH_BASE, HIGH_BYTES, (byte) 0);
    MEMORY.write(DESC, in.bytes(16 * size));
    MEMORY.write(AVAIL, in.bytes(6 + 2 * size));
    MEMORY.write(HEAP, in.bytes(0x1000));
    MEMORY.write(HIGH_BASE, in.bytes(0x1000));
    QueueConfig config = new QueueConfig(size, DESC, AVAIL, USED);
    byte[] before = MEMORY.read(0, (int) LOW_BYTES);

    SplitQueue q = SplitQueue.activate(MEMORY, config, MAX_SIZE, eventIdx, indirect);
    boolean stopped = false; // drained, or the ring is broken
    int taken = 0;
    for (int round = 0; round <= size && !stopped; round++) {
      try {
        DescriptorChain chain = q.pop();
        if (chain == null) {
          stopped = true;
          continue;
        }
        check(chain, size);
        q.addUsed(chain.head(), in.u32());
        taken++;
      } catch (QueueException.BadChain e) {
        q.addUsed(e.head(), 0);
        taken++;
      } catch (QueueException.Broken e) {
        stopped = true;
        continue;
      }
      q.needsInterrupt();
      try {
        if (in.bool()) {
          q.rearm();
        }
      } catch (QueueException.Broken e) {
        fail("a ring that was consistent cannot break by itself: " + e.getMessage());
      }
    }
    assertTrue(stopped, "the walker stops once it took what was published");
    assertTrue(taken <= size, "took " + taken + " from a queue of " + size);
    byte[] after = MEMORY.read(0, (int) LOW_BYTES);
    int usedStart = (int) USED;
    int usedEnd = (int) (USED + config.usedRingBytes());
    Arrays.fill(before, usedStart, usedEnd, (byte) 0);
    Arrays.fill(after, usedStart, usedEnd, (byte) 0);
    assertArrayEquals(before, after, "the device wrote only the used ring");
  }

  private static void check(DescriptorChain chain, int size) {
    assertTrue(chain.head() >= 0 && chain.head() < size, "head " + chain.head());
    assertTrue(chain.descriptors().size() <= size + SplitQueue.MAX_INDIRECT_DESCRIPTORS);
    long total = 0;
    for (Descriptor d : chain.descriptors()) {
      total += d.length();
      assertTrue(d.length() == 0 || MEMORY.isRam(d.address(), d.length()), d.toString());
    }
    assertTrue(total <= 0xffff_ffffL, "total " + total);
  }
}

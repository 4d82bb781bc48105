package run.cocoon.vmm.devices;

import java.util.Map;
import java.util.TreeMap;
import run.cocoon.kvm.VmExit;

/**
 * Routes MMIO exits (guest accesses outside RAM) to devices. Unclaimed addresses read as zero and
 * drop writes, with a rate-limited warning.
 */
public final class MmioBus {
  private record Range(long base, long length, MmioDevice device) {}

  private final TreeMap<Long, Range> ranges = new TreeMap<>(Long::compareUnsigned);
  private final RateLimitedLog unhandled = new RateLimitedLog("cocoon.vmm.mmio");

  /** Claims [base, base + length); overlapping claims are a programming error. */
  public synchronized void register(long base, long length, MmioDevice device) {
    if (length <= 0 || Long.compareUnsigned(base, -1L - (length - 1)) > 0) {
      throw new IllegalArgumentException("bad MMIO range 0x" + Long.toHexString(base));
    }
    Map.Entry<Long, Range> below = ranges.floorEntry(base + length - 1);
    if (below != null && Long.compareUnsigned(below.getValue().base() + below.getValue().length(), base) > 0) {
      throw new IllegalArgumentException("MMIO range 0x" + Long.toHexString(base) + " overlaps");
    }
    ranges.put(base, new Range(base, length, device));
  }

  /** Serves one MMIO exit. */
  public void handle(VmExit.Mmio m) {
    Map.Entry<Long, Range> e = ranges.floorEntry(m.address());
    Range r = e == null ? null : e.getValue();
    long offset = r == null ? -1 : m.address() - r.base();
    if (r == null || Long.compareUnsigned(offset, r.length()) >= 0
        || Long.compareUnsigned(m.length(), r.length() - offset) > 0) {
      if (!m.isWrite()) {
        m.setValue(0);
      }
      unhandled.warn((m.isWrite() ? "write to" : "read from") + " unhandled MMIO 0x"
          + Long.toHexString(m.address()));
      return;
    }
    if (m.isWrite()) {
      r.device().write(offset, m.length(), m.value());
    } else {
      m.setValue(r.device().read(offset, m.length()));
    }
  }
}

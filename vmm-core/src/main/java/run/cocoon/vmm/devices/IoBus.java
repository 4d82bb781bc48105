package run.cocoon.vmm.devices;

import java.util.Map;
import java.util.TreeMap;
import run.cocoon.kvm.VmExit;

/**
 * Routes port I/O exits to devices. Ports nobody claims read as all-ones (an empty ISA bus) and
 * drop writes, with a rate-limited warning.
 */
public final class IoBus {
  private record Range(int base, int length, PioDevice device) {}

  private final TreeMap<Integer, Range> ranges = new TreeMap<>();
  private final RateLimitedLog unhandled = new RateLimitedLog("cocoon.vmm.pio");

  /** Claims [base, base + length); overlapping claims are a programming error. */
  public synchronized void register(int base, int length, PioDevice device) {
    if (base < 0 || length <= 0 || base + length > 0x10000) {
      throw new IllegalArgumentException("bad port range 0x" + Integer.toHexString(base) + "+" + length);
    }
    Map.Entry<Integer, Range> below = ranges.floorEntry(base + length - 1);
    if (below != null && below.getValue().base() + below.getValue().length() > base) {
      throw new IllegalArgumentException("port range 0x" + Integer.toHexString(base) + " overlaps");
    }
    ranges.put(base, new Range(base, length, device));
  }

  private Range find(int port) {
    Map.Entry<Integer, Range> e = ranges.floorEntry(port);
    return e != null && port < e.getValue().base() + e.getValue().length() ? e.getValue() : null;
  }

  /** Serves one I/O exit, including string I/O (count > 1). */
  public void handle(VmExit.Io io) {
    Range r = find(io.port());
    int size = io.size();
    for (int i = 0; i < io.count(); i++) {
      var slot = io.data().asSlice((long) i * size, size);
      if (r == null) {
        if (!io.isOut()) {
          slot.fill((byte) 0xff);
        }
        unhandled.warn((io.isOut() ? "write to" : "read from") + " unhandled port 0x"
            + Integer.toHexString(io.port()));
        continue;
      }
      int offset = io.port() - r.base();
      if (io.isOut()) {
        r.device().write(offset, size, (int) Bytes.littleEndian(slot, size));
      } else {
        Bytes.setLittleEndian(slot, size, Integer.toUnsignedLong(r.device().read(offset, size)));
      }
    }
  }
}

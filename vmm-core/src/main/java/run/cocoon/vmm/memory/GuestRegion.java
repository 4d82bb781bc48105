package run.cocoon.vmm.memory;

import java.lang.foreign.MemorySegment;

/** One contiguous piece of guest RAM and the host memory behind it. */
public record GuestRegion(long guestBase, long size, MemorySegment host) {
  public GuestRegion {
    if (size <= 0 || host.byteSize() != size) {
      throw new IllegalArgumentException("region size " + size + " must match its host mapping");
    }
    if (Long.compareUnsigned(guestBase, -1L - (size - 1)) > 0) {
      throw new IllegalArgumentException("region at 0x" + Long.toHexString(guestBase) + " wraps");
    }
  }

  /** First guest-physical address after the region. */
  public long guestEnd() {
    return guestBase + size;
  }

  /** Whether [address, address + length) lies inside this region; assumes no wrap-around. */
  boolean contains(long address, long length) {
    return Long.compareUnsigned(address, guestBase) >= 0
        && Long.compareUnsigned(address - guestBase, size) < 0
        && Long.compareUnsigned(length, size - (address - guestBase)) <= 0;
  }
}

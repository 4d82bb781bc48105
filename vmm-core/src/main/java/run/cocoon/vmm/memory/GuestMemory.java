package run.cocoon.vmm.memory;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Guest-physical RAM. Every access is bounds-checked with unsigned, overflow-safe arithmetic and
 * fails with a {@link GuestMemoryException} subtype; devices get slices of exactly the range they
 * asked for, never a segment of all of RAM. Multi-byte values are little-endian, as on x86.
 */
public interface GuestMemory {

  /** The RAM regions, sorted by guest address, non-overlapping. */
  List<GuestRegion> regions();

  /** Total bytes of RAM. */
  default long totalBytes() {
    return regions().stream().mapToLong(GuestRegion::size).sum();
  }

  /**
   * A host view of exactly [address, address + length). The range must lie in one region.
   * Zero-length slices are allowed inside RAM.
   */
  MemorySegment slice(long address, long length);

  /** Whether [address, address + length) is RAM inside one region. */
  boolean isRam(long address, long length);

  void read(long address, byte[] destination, int offset, int length);

  void write(long address, byte[] source, int offset, int length);

  default byte[] read(long address, int length) {
    byte[] out = new byte[length];
    read(address, out, 0, length);
    return out;
  }

  default void write(long address, byte[] source) {
    write(address, source, 0, source.length);
  }

  int readU8(long address);

  int readU16(long address);

  int readU32(long address);

  long readU64(long address);

  void writeU8(long address, int value);

  void writeU16(long address, int value);

  void writeU32(long address, int value);

  void writeU64(long address, long value);

  /** Zeroes [address, address + length). */
  void fill(long address, long length, byte value);
}

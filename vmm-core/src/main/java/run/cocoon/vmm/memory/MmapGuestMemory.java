package run.cocoon.vmm.memory;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.kvm.Libc;
import run.cocoon.kvm.MemoryRegion;
import run.cocoon.kvm.VmFd;

/**
 * Guest RAM in anonymous {@code MAP_NORESERVE} mappings: pages cost the host nothing until the
 * guest touches them.
 */
public final class MmapGuestMemory implements GuestMemory, AutoCloseable {
  private static final java.lang.foreign.ValueLayout.OfShort U16 =
      JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.foreign.ValueLayout.OfInt U32 =
      JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final java.lang.foreign.ValueLayout.OfLong U64 =
      JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final Arena arena;
  private final List<GuestRegion> regions;

  private MmapGuestMemory(Arena arena, List<GuestRegion> regions) {
    this.arena = arena;
    this.regions = List.copyOf(regions);
  }

  /** Maps RAM for each [guestBase, guestBase + size) range; ranges must be sorted and disjoint. */
  public static MmapGuestMemory allocate(List<long[]> ranges) {
    Arena arena = Arena.ofShared();
    try {
      List<GuestRegion> regions = new ArrayList<>();
      long previousEnd = 0;
      for (long[] r : ranges) {
        long base = r[0];
        long size = r[1];
        if (Long.compareUnsigned(base, previousEnd) < 0) {
          throw new IllegalArgumentException("memory ranges must be sorted and disjoint");
        }
        regions.add(new GuestRegion(base, size, Libc.mmapAnonymous(size, arena)));
        previousEnd = base + size;
      }
      return new MmapGuestMemory(arena, regions);
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  /** Registers every region with KVM, slot numbers in address order. */
  public void registerWith(VmFd vm) {
    for (int slot = 0; slot < regions.size(); slot++) {
      GuestRegion r = regions.get(slot);
      vm.setUserMemoryRegion(new MemoryRegion(slot, 0, r.guestBase(), r.size(), r.host().address()));
    }
  }

  @Override
  public List<GuestRegion> regions() {
    return regions;
  }

  private GuestRegion find(long address, long length) {
    if (length < 0) {
      throw new GuestMemoryException.Overflow(address, length);
    }
    if (length > 0 && Long.compareUnsigned(address, -1L - (length - 1)) > 0) {
      throw new GuestMemoryException.Overflow(address, length);
    }
    for (GuestRegion r : regions) {
      if (r.contains(address, length)) {
        return r;
      }
      if (Long.compareUnsigned(address, r.guestBase()) >= 0
          && Long.compareUnsigned(address, r.guestEnd()) < 0) {
        boolean nextIsAdjacentRam = regions.stream().anyMatch(n -> n.guestBase() == r.guestEnd());
        throw nextIsAdjacentRam
            ? new GuestMemoryException.SpansRegions(address, length)
            : new GuestMemoryException.OutOfRange(address, length);
      }
    }
    throw new GuestMemoryException.OutOfRange(address, length);
  }

  @Override
  public MemorySegment slice(long address, long length) {
    GuestRegion r = find(address, length);
    return r.host().asSlice(address - r.guestBase(), length);
  }

  @Override
  public boolean isRam(long address, long length) {
    try {
      find(address, length);
      return true;
    } catch (GuestMemoryException e) {
      return false;
    }
  }

  @Override
  public void read(long address, byte[] destination, int offset, int length) {
    MemorySegment.copy(slice(address, length), JAVA_BYTE, 0, destination, offset, length);
  }

  @Override
  public void write(long address, byte[] source, int offset, int length) {
    MemorySegment.copy(source, offset, slice(address, length), JAVA_BYTE, 0, length);
  }

  @Override
  public int readU8(long address) {
    return Byte.toUnsignedInt(slice(address, 1).get(JAVA_BYTE, 0));
  }

  @Override
  public int readU16(long address) {
    return Short.toUnsignedInt(slice(address, 2).get(U16, 0));
  }

  @Override
  public int readU32(long address) {
    return slice(address, 4).get(U32, 0);
  }

  @Override
  public long readU64(long address) {
    return slice(address, 8).get(U64, 0);
  }

  @Override
  public void writeU8(long address, int value) {
    slice(address, 1).set(JAVA_BYTE, 0, (byte) value);
  }

  @Override
  public void writeU16(long address, int value) {
    slice(address, 2).set(U16, 0, (short) value);
  }

  @Override
  public void writeU32(long address, int value) {
    slice(address, 4).set(U32, 0, value);
  }

  @Override
  public void writeU64(long address, long value) {
    slice(address, 8).set(U64, 0, value);
  }

  @Override
  public void fill(long address, long length, byte value) {
    slice(address, length).fill(value);
  }

  /** Unmaps all RAM. Only once no vCPU runs and no device holds a slice. */
  @Override
  public void close() {
    arena.close();
  }
}

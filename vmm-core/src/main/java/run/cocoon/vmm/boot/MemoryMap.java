package run.cocoon.vmm.boot;

import java.util.ArrayList;
import java.util.List;
import run.cocoon.vmm.layout.Layout;

/**
 * The guest's physical memory map as E820 (zero page) and PVH memmap entries. The EBDA and the
 * BIOS area above 640 KiB are reserved: the MP table and the ACPI tables live there, and the
 * kernel must neither use nor hand out those pages.
 */
public final class MemoryMap {
  /** E820 / PVH type: usable RAM. */
  public static final int TYPE_RAM = 1;
  /** E820 / PVH type: reserved. */
  public static final int TYPE_RESERVED = 2;

  /** One entry: [address, address + size) of {@code type}. */
  public record Entry(long address, long size, int type) {
    public long end() {
      return address + size;
    }
  }

  private MemoryMap() {}

  /** The map of a guest with {@code ramBytes} of RAM laid out by {@link Layout#ramRanges}. */
  public static List<Entry> of(long ramBytes) {
    List<Entry> entries = new ArrayList<>();
    entries.add(new Entry(0, Layout.EBDA_ADDRESS, TYPE_RAM));
    entries.add(new Entry(Layout.EBDA_ADDRESS, Layout.BIOS_AREA_END - Layout.EBDA_ADDRESS,
        TYPE_RESERVED));
    long lowEnd = Layout.lowRamEnd(ramBytes);
    entries.add(new Entry(Layout.KERNEL_LOAD_ADDRESS, lowEnd - Layout.KERNEL_LOAD_ADDRESS,
        TYPE_RAM));
    if (ramBytes > Layout.MMIO_HOLE_START) {
      entries.add(new Entry(Layout.FOUR_GIB, ramBytes - Layout.MMIO_HOLE_START, TYPE_RAM));
    }
    return List.copyOf(entries);
  }
}

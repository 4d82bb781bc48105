package run.cocoon.vmm.boot;

import java.util.List;
import java.util.Optional;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * PVH's {@code struct hvm_start_info} (version 1, xen/interface/hvm/start_info.h) with its
 * module list (the initrd) and memory map. The kernel reads these through EBX at its 32-bit PVH
 * entry and builds its own boot_params from them.
 */
public final class PvhStartInfo {
  /** XEN_HVM_START_MAGIC_VALUE. */
  static final int MAGIC = 0x336e_c578;
  /** Version 1 adds the memory map; the kernel requires it outside Xen. */
  static final int VERSION = 1;
  static final int START_INFO_BYTES = 56;
  static final int MODLIST_ENTRY_BYTES = 32;
  static final int MEMMAP_ENTRY_BYTES = 24;

  private PvhStartInfo() {}

  static void write(GuestMemory memory, Optional<InitrdPlacement> initrd,
      List<MemoryMap.Entry> map, long rsdpAddress) {
    if (map.size() > Layout.PVH_MEMMAP_MAX_ENTRIES) {
      throw new IllegalStateException("memory map has " + map.size() + " entries");
    }
    long si = Layout.PVH_INFO_ADDRESS;
    memory.fill(si, START_INFO_BYTES, (byte) 0);
    memory.writeU32(si, MAGIC);
    memory.writeU32(si + 4, VERSION);
    memory.writeU32(si + 8, 0); // flags
    memory.writeU32(si + 12, initrd.isPresent() ? 1 : 0);
    memory.writeU64(si + 16, initrd.isPresent() ? Layout.PVH_MODLIST_ADDRESS : 0);
    memory.writeU64(si + 24, Layout.CMDLINE_ADDRESS);
    memory.writeU64(si + 32, rsdpAddress);
    memory.writeU64(si + 40, Layout.PVH_MEMMAP_ADDRESS);
    memory.writeU32(si + 48, map.size());
    initrd.ifPresent(i -> {
      long m = Layout.PVH_MODLIST_ADDRESS;
      memory.fill(m, MODLIST_ENTRY_BYTES, (byte) 0);
      memory.writeU64(m, i.address());
      memory.writeU64(m + 8, i.size());
    });
    for (int i = 0; i < map.size(); i++) {
      MemoryMap.Entry e = map.get(i);
      long at = Layout.PVH_MEMMAP_ADDRESS + (long) i * MEMMAP_ENTRY_BYTES;
      memory.writeU64(at, e.address());
      memory.writeU64(at + 8, e.size());
      memory.writeU32(at + 16, e.type());
      memory.writeU32(at + 20, 0);
    }
  }
}

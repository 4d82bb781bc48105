package run.cocoon.vmm.boot;

import java.util.List;
import java.util.Optional;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The Linux zero page ({@code struct boot_params}) for the 64-bit boot protocol. Offsets are
 * those of arch/x86/include/uapi/asm/bootparam.h. The page is zeroed first so the sentinel at
 * 0x1ef stays 0 and the kernel trusts the fields we leave out.
 */
public final class ZeroPage {
  static final int BYTES = 4096;
  static final int ACPI_RSDP_ADDR = 0x070;
  static final int EXT_RAMDISK_IMAGE = 0x0c0;
  static final int EXT_RAMDISK_SIZE = 0x0c4;
  static final int EXT_CMD_LINE_PTR = 0x0c8;
  static final int E820_ENTRIES = 0x1e8;
  static final int SENTINEL = 0x1ef;
  static final int SETUP_HEADER = 0x1f1;
  static final int BOOT_FLAG = 0x1fe;
  static final int HEADER = 0x202;
  static final int VERSION = 0x206;
  static final int TYPE_OF_LOADER = 0x210;
  static final int LOADFLAGS = 0x211;
  static final int RAMDISK_IMAGE = 0x218;
  static final int RAMDISK_SIZE = 0x21c;
  static final int CMD_LINE_PTR = 0x228;
  static final int INITRD_ADDR_MAX = 0x22c;
  static final int KERNEL_ALIGNMENT = 0x230;
  static final int XLOADFLAGS = 0x236;
  static final int CMDLINE_SIZE = 0x238;
  static final int E820_TABLE = 0x2d0;
  static final int E820_ENTRY_BYTES = 20;
  /** E820_MAX_ENTRIES_ZEROPAGE. */
  static final int E820_MAX_ENTRIES = 128;

  /** "Undefined" boot loader: we have no assigned loader id. */
  static final int LOADER_UNDEFINED = 0xff;
  /** Protocol we claim when synthesizing a header for a vmlinux (2.15). */
  static final int SYNTHESIZED_VERSION = 0x020f;
  static final int LOADED_HIGH = 1;
  /** Alignment a vmlinux's synthesized header reports (the x86_64 default, 16 MiB). */
  static final long SYNTHESIZED_KERNEL_ALIGNMENT = 0x100_0000;

  private ZeroPage() {}

  /**
   * Writes the zero page at {@link Layout#ZERO_PAGE_ADDRESS}.
   *
   * @param setupHeader the bzImage's setup header bytes, or empty to synthesize one (vmlinux)
   */
  static void write(GuestMemory memory, Optional<byte[]> setupHeader,
      Optional<InitrdPlacement> initrd, List<MemoryMap.Entry> map, long rsdpAddress) {
    long zp = Layout.ZERO_PAGE_ADDRESS;
    memory.fill(zp, BYTES, (byte) 0);
    if (setupHeader.isPresent()) {
      memory.write(zp + SETUP_HEADER, setupHeader.get());
    } else {
      // No setup code to copy from: fill in what the kernel reads from a loader-built header.
      // KEEP_SEGMENTS is not set: it only means something for the 32-bit entry.
      memory.writeU16(zp + BOOT_FLAG, BzImageKernel.BOOT_FLAG);
      memory.writeU32(zp + HEADER, (int) BzImageKernel.HDRS_MAGIC);
      memory.writeU16(zp + VERSION, SYNTHESIZED_VERSION);
      memory.writeU32(zp + INITRD_ADDR_MAX, (int) (Layout.FOUR_GIB - 1));
      memory.writeU32(zp + KERNEL_ALIGNMENT, (int) SYNTHESIZED_KERNEL_ALIGNMENT);
      memory.writeU16(zp + XLOADFLAGS, BzImageKernel.XLF_KERNEL_64);
      memory.writeU32(zp + CMDLINE_SIZE, BootLimits.CMDLINE_MAX_CHARS);
    }
    memory.writeU8(zp + TYPE_OF_LOADER, LOADER_UNDEFINED);
    memory.writeU8(zp + LOADFLAGS, memory.readU8(zp + LOADFLAGS) | LOADED_HIGH);
    memory.writeU32(zp + CMD_LINE_PTR, (int) Layout.CMDLINE_ADDRESS);
    memory.writeU32(zp + EXT_CMD_LINE_PTR, (int) (Layout.CMDLINE_ADDRESS >>> 32));
    initrd.ifPresent(i -> {
      memory.writeU32(zp + RAMDISK_IMAGE, (int) i.address());
      memory.writeU32(zp + RAMDISK_SIZE, (int) i.size());
      memory.writeU32(zp + EXT_RAMDISK_IMAGE, (int) (i.address() >>> 32));
      memory.writeU32(zp + EXT_RAMDISK_SIZE, (int) (i.size() >>> 32));
    });
    memory.writeU64(zp + ACPI_RSDP_ADDR, rsdpAddress);
    if (map.size() > E820_MAX_ENTRIES) {
      throw new IllegalStateException("memory map has " + map.size() + " entries");
    }
    memory.writeU8(zp + E820_ENTRIES, map.size());
    for (int i = 0; i < map.size(); i++) {
      MemoryMap.Entry e = map.get(i);
      long at = zp + E820_TABLE + (long) i * E820_ENTRY_BYTES;
      memory.writeU64(at, e.address());
      memory.writeU64(at + 8, e.size());
      memory.writeU32(at + 16, e.type());
    }
  }
}

package run.cocoon.vmm.layout;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest-physical memory map of every cocoon VM (x86_64), one constant per address. Boot
 * structures live in the first megabyte, the kernel loads at 1 MiB, RAM runs up to the 32-bit MMIO
 * hole and continues above 4 GiB.
 *
 * <pre>
 * 0x0000_0000  real-mode IVT and BIOS data area (left zero)
 * 0x0000_0500  GDT for 64-bit entry              (GDT_ADDRESS)
 * 0x0000_0540  IDT, empty                        (IDT_ADDRESS)
 * 0x0000_6000  PVH start_info, modules, memmap   (PVH_INFO_ADDRESS ...)
 * 0x0000_7000  Linux zero page (boot_params)     (ZERO_PAGE_ADDRESS)
 * 0x0000_8ff0  initial stack top                 (BOOT_STACK_POINTER)
 * 0x0000_9000  identity page tables, 1 GiB       (PML4_ADDRESS, PDPT_ADDRESS, PD_ADDRESS)
 * 0x0002_0000  kernel command line               (CMDLINE_ADDRESS)
 * 0x0009_fc00  EBDA: MP table                    (EBDA_ADDRESS)
 * 0x000e_0000  ACPI RSDP and tables (BIOS area the kernel scans)  (ACPI_ADDRESS)
 * 0x0010_0000  kernel image                      (KERNEL_LOAD_ADDRESS)
 *   ...        RAM; the initrd sits at the top of RAM below 4 GiB
 * 0xc000_0000  32-bit MMIO hole: virtio-mmio devices, IOAPIC, local APIC (MMIO_HOLE_START)
 * 0x1_0000_0000 RAM above 4 GiB, when the VM has more than MMIO_HOLE_START bytes
 * </pre>
 */
public final class Layout {
  /** GDT used for 64-bit and 32-bit (PVH) entry: six 8-byte slots, up to 0x530. */
  public static final long GDT_ADDRESS = 0x500;
  /** An empty IDT (after the GDT): the kernel installs its own before enabling interrupts. */
  public static final long IDT_ADDRESS = 0x540;
  /** PVH {@code hvm_start_info}. */
  public static final long PVH_INFO_ADDRESS = 0x6000;
  /** PVH module list (the initrd). */
  public static final long PVH_MODLIST_ADDRESS = 0x6040;
  /** PVH memory map entries. */
  public static final long PVH_MEMMAP_ADDRESS = 0x6100;
  /** Entries that fit between PVH_MEMMAP_ADDRESS and the zero page. */
  public static final int PVH_MEMMAP_MAX_ENTRIES = (int) ((0x7000 - 0x6100) / 24);
  /** Linux {@code struct boot_params}. */
  public static final long ZERO_PAGE_ADDRESS = 0x7000;
  /** Initial RSP for 64-bit entry; the kernel switches stacks almost at once. */
  public static final long BOOT_STACK_POINTER = 0x8ff0;
  /** Page map level 4 of the boot identity mapping. */
  public static final long PML4_ADDRESS = 0x9000;
  /** Page directory pointer table of the boot identity mapping. */
  public static final long PDPT_ADDRESS = 0xa000;
  /** Page directory of the boot identity mapping (512 x 2 MiB = the first 1 GiB). */
  public static final long PD_ADDRESS = 0xb000;
  /** Kernel command line, NUL-terminated. */
  public static final long CMDLINE_ADDRESS = 0x20000;
  /** Largest command line we pass, NUL included (the x86 kernel's COMMAND_LINE_SIZE). */
  public static final int CMDLINE_MAX_BYTES = 2048;
  /** Start of the extended BIOS data area, where the kernel looks for the MP table. */
  public static final long EBDA_ADDRESS = 0x9fc00;
  /** ACPI RSDP, in the 0xe0000-0xfffff range the kernel scans, tables right after it. */
  public static final long ACPI_ADDRESS = 0xe0000;
  /** End of the area the kernel scans for the RSDP. */
  public static final long BIOS_AREA_END = 0x10_0000;
  /** Where kernels are loaded (the "high memory" start of the boot protocol). */
  public static final long KERNEL_LOAD_ADDRESS = 0x10_0000;
  /** Start of the 32-bit MMIO hole; RAM stops here and resumes at 4 GiB. */
  public static final long MMIO_HOLE_START = 0xc000_0000L;
  /** First address above the 32-bit space. */
  public static final long FOUR_GIB = 0x1_0000_0000L;
  /** Base of the virtio-mmio device windows. */
  public static final long VIRTIO_MMIO_BASE = 0xd000_0000L;
  /** Bytes of MMIO space per virtio device. */
  public static final long VIRTIO_MMIO_STRIDE = 0x1000;
  /** IOAPIC pin of the first virtio device; device i uses pin VIRTIO_FIRST_GSI + i. */
  public static final int VIRTIO_FIRST_GSI = 5;
  /** Virtio devices that fit: pins 5..20 of the IOAPIC's 24, windows well inside the hole. */
  public static final int VIRTIO_MAX_DEVICES = 16;
  /** The IOAPIC's MMIO base (fixed by KVM's in-kernel IOAPIC). */
  public static final long IOAPIC_ADDRESS = 0xfec0_0000L;
  /** The local APIC's default MMIO base. */
  public static final long LAPIC_ADDRESS = 0xfee0_0000L;
  /** KVM_SET_IDENTITY_MAP_ADDR: one page, inside the hole, below the IOAPIC. */
  public static final long IDENTITY_MAP_ADDRESS = 0xfeff_c000L;
  /** KVM_SET_TSS_ADDR: three pages right after the identity-map page. */
  public static final long TSS_ADDRESS = 0xfeff_d000L;
  /** Smallest guest we boot: room for the boot structures, a kernel and an initrd. */
  public static final long MIN_RAM_BYTES = 32L << 20;
  /** Largest guest: keeps the 2 MiB-page identity map and our arithmetic well inside 46 bits. */
  public static final long MAX_RAM_BYTES = 1L << 40;

  private Layout() {}

  /** The RAM ranges {base, size} for a guest of {@code ramBytes}, split around the MMIO hole. */
  public static List<long[]> ramRanges(long ramBytes) {
    if (ramBytes < MIN_RAM_BYTES || ramBytes > MAX_RAM_BYTES || ramBytes % 4096 != 0) {
      throw new IllegalArgumentException("guest RAM must be a multiple of 4 KiB between "
          + (MIN_RAM_BYTES >> 20) + " MiB and " + (MAX_RAM_BYTES >> 30) + " GiB, got " + ramBytes);
    }
    List<long[]> ranges = new ArrayList<>();
    ranges.add(new long[] {0, Math.min(ramBytes, MMIO_HOLE_START)});
    if (ramBytes > MMIO_HOLE_START) {
      ranges.add(new long[] {FOUR_GIB, ramBytes - MMIO_HOLE_START});
    }
    return List.copyOf(ranges);
  }

  /** MMIO window base of virtio device {@code index}. */
  public static long virtioBase(int index) {
    return VIRTIO_MMIO_BASE + VIRTIO_MMIO_STRIDE * index;
  }

  /** IOAPIC pin of virtio device {@code index}. */
  public static int virtioGsi(int index) {
    return VIRTIO_FIRST_GSI + index;
  }

  /** End of RAM below 4 GiB. */
  public static long lowRamEnd(long ramBytes) {
    return Math.min(ramBytes, MMIO_HOLE_START);
  }
}

package run.cocoon.vmm.boot;

import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * Identity page tables for the first {@link BootLimits#IDENTITY_MAPPED_BYTES} with 2 MiB pages
 * (PML4 -> one PDPT -> one PD of 512 entries). The 64-bit boot protocol requires the kernel, the
 * zero page and the command line to be identity-mapped at entry; the kernel builds its own tables
 * right after.
 */
public final class PageTables {
  static final long PRESENT = 1;
  static final long WRITABLE = 1 << 1;
  static final long PAGE_SIZE_2M = 1 << 7;
  static final long TWO_MIB = 2L << 20;
  static final int ENTRIES = 512;
  static final long TABLE_BYTES = 4096;

  private PageTables() {}

  static void write(GuestMemory memory) {
    memory.fill(Layout.PML4_ADDRESS, TABLE_BYTES, (byte) 0);
    memory.fill(Layout.PDPT_ADDRESS, TABLE_BYTES, (byte) 0);
    memory.writeU64(Layout.PML4_ADDRESS, Layout.PDPT_ADDRESS | PRESENT | WRITABLE);
    memory.writeU64(Layout.PDPT_ADDRESS, Layout.PD_ADDRESS | PRESENT | WRITABLE);
    for (int i = 0; i < ENTRIES; i++) {
      memory.writeU64(Layout.PD_ADDRESS + 8L * i, i * TWO_MIB | PRESENT | WRITABLE | PAGE_SIZE_2M);
    }
  }
}

package run.cocoon.vmm.boot;

import run.cocoon.kvm.DescriptorTable;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Regs.Register;
import run.cocoon.kvm.Segment;
import run.cocoon.kvm.Sregs;
import run.cocoon.vmm.layout.Layout;

/**
 * The register state vCPU 0 starts the kernel with. The other vCPUs are not touched: they stay
 * in their reset state and the kernel wakes them with INIT/SIPI through the local APIC.
 */
public record EntryState(BootProtocol protocol, Regs regs, Segment code, Segment data,
    Segment tr, DescriptorTable gdt, DescriptorTable idt, long cr0, long cr3, long cr4,
    long efer) {

  static final long CR0_PE = 1;
  static final long CR0_ET = 1 << 4;
  static final long CR0_PG = 1L << 31;
  static final long CR4_PAE = 1 << 5;
  static final long EFER_LME = 1 << 8;
  static final long EFER_LMA = 1 << 10;

  /** Linux 64-bit protocol: long mode, CS=__BOOT_CS, DS/ES/FS/GS/SS=__BOOT_DS, RSI = zero page. */
  static EntryState linux64(long entry) {
    Regs regs = Regs.INITIAL
        .with(Register.RIP, entry)
        .with(Register.RSI, Layout.ZERO_PAGE_ADDRESS)
        .with(Register.RSP, Layout.BOOT_STACK_POINTER)
        .with(Register.RBP, Layout.BOOT_STACK_POINTER);
    return new EntryState(BootProtocol.LINUX_64, regs, Gdt.segment(Gdt.CODE64_SELECTOR),
        Gdt.segment(Gdt.DATA_SELECTOR), Gdt.segment(Gdt.TSS_SELECTOR), Gdt.GDTR, Gdt.IDTR,
        CR0_PE | CR0_ET | CR0_PG, Layout.PML4_ADDRESS, CR4_PAE, EFER_LME | EFER_LMA);
  }

  /** PVH: 32-bit flat protected mode, paging off, EBX = hvm_start_info. */
  static EntryState pvh(long entry) {
    Regs regs = Regs.INITIAL
        .with(Register.RIP, entry)
        .with(Register.RBX, Layout.PVH_INFO_ADDRESS);
    return new EntryState(BootProtocol.PVH, regs, Gdt.segment(Gdt.CODE32_SELECTOR),
        Gdt.segment(Gdt.DATA_SELECTOR), Gdt.segment(Gdt.TSS_SELECTOR), Gdt.GDTR, Gdt.IDTR,
        CR0_PE | CR0_ET, 0, 0, 0);
  }

  /**
   * {@code current} (what KVM_GET_SREGS returned, with the APIC base and CR8 the CPU set-up
   * chose) with our segments, tables and control registers.
   */
  public Sregs applyTo(Sregs current) {
    return current.withSegments(code, data).withTr(tr).withTables(gdt, idt)
        .withControl(cr0, cr3, cr4, efer);
  }
}

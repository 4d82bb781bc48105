package run.cocoon.vmm.cpu;

import java.util.List;
import run.cocoon.kvm.MsrEntry;

/** MSR values every vCPU starts with: a clean slate for the guest kernel to program. */
public final class BootMsrs {
  static final int IA32_TSC = 0x10;
  static final int IA32_SYSENTER_CS = 0x174;
  static final int IA32_SYSENTER_ESP = 0x175;
  static final int IA32_SYSENTER_EIP = 0x176;
  static final int IA32_MISC_ENABLE = 0x1a0;
  static final int IA32_MTRR_DEF_TYPE = 0x2ff;
  static final int STAR = 0xc000_0081;
  static final int LSTAR = 0xc000_0082;
  static final int CSTAR = 0xc000_0083;
  static final int SYSCALL_MASK = 0xc000_0084;
  static final int KERNEL_GS_BASE = 0xc000_0102;

  /** IA32_MISC_ENABLE bit 0: fast string operations. */
  static final long MISC_ENABLE_FAST_STRING = 1;
  /** MTRRdefType: MTRRs enabled (bit 11), default memory type write-back (6). */
  static final long MTRR_ENABLED_WRITE_BACK = 1 << 11 | 6;

  private BootMsrs() {}

  /** The MSRs to set, in order; a CPU vendor may refuse some (see {@link VcpuSetup}). */
  public static List<MsrEntry> all() {
    return List.of(
        new MsrEntry(IA32_SYSENTER_CS, 0), new MsrEntry(IA32_SYSENTER_ESP, 0),
        new MsrEntry(IA32_SYSENTER_EIP, 0), new MsrEntry(STAR, 0), new MsrEntry(CSTAR, 0),
        new MsrEntry(KERNEL_GS_BASE, 0), new MsrEntry(SYSCALL_MASK, 0), new MsrEntry(LSTAR, 0),
        new MsrEntry(IA32_TSC, 0), new MsrEntry(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
        new MsrEntry(IA32_MTRR_DEF_TYPE, MTRR_ENABLED_WRITE_BACK));
  }
}

package run.cocoon.vmm.boot;

/** How vCPU 0 enters the kernel. */
public enum BootProtocol {
  /** Xen PVH direct boot: 32-bit protected mode, paging off, EBX = hvm_start_info. */
  PVH,
  /** Linux 64-bit boot protocol: long mode on identity page tables, RSI = zero page. */
  LINUX_64
}

package run.cocoon.kvm;

/**
 * A guest-physical range backed by host memory ({@code struct kvm_userspace_memory_region}).
 * A size of 0 deletes the slot.
 */
public record MemoryRegion(int slot, int flags, long guestPhysAddr, long size, long userspaceAddr) {
  /** Track writes to the region (KVM_MEM_LOG_DIRTY_PAGES). */
  public static final int LOG_DIRTY_PAGES = 1;
  /** The guest may only read; writes exit as MMIO (KVM_MEM_READONLY). */
  public static final int READONLY = 2;
}

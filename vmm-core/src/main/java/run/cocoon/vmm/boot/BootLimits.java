package run.cocoon.vmm.boot;

import run.cocoon.vmm.layout.Layout;

/**
 * Bounds on everything a boot takes from outside: image and initrd sizes, ELF header counts,
 * vCPUs and devices that the firmware tables describe. Each is listed in docs/limits.md.
 */
public final class BootLimits {
  /** Largest kernel file we read (an unstripped vmlinux is ~20 MiB; a debug build a few hundred). */
  public static final long KERNEL_MAX_BYTES = 512L << 20;
  /** Largest initrd we read; it must also fit the guest's RAM below the MMIO hole. */
  public static final long INITRD_MAX_BYTES = 1L << 30;
  /** Most ELF program headers we accept (vmlinux has about five). */
  public static final int ELF_MAX_PROGRAM_HEADERS = 64;
  /** Most ELF notes we walk in one PT_NOTE segment before giving up. */
  public static final int ELF_MAX_NOTES = 256;
  /**
   * Most vCPUs the MP table and MADT describe: xAPIC ids 0..253 go to vCPUs, the IOAPIC takes id
   * {@code vcpus} (at most 254) and 255 is the broadcast id.
   */
  public static final int MAX_VCPUS = 254;
  /** Most virtio-mmio devices the DSDT describes. */
  public static final int MAX_MMIO_DEVICES = 32;
  /** Pins of KVM's in-kernel IOAPIC; GSIs are 0..IOAPIC_PINS-1. */
  public static final int IOAPIC_PINS = 24;
  /**
   * The boot page tables identity-map this much (512 x 2 MiB pages); the 64-bit entry needs the
   * kernel's whole footprint, the zero page and the command line inside it.
   */
  public static final long IDENTITY_MAPPED_BYTES = 1L << 30;
  /** Longest command line, without its terminating NUL. */
  public static final int CMDLINE_MAX_CHARS = Layout.CMDLINE_MAX_BYTES - 1;

  private BootLimits() {}
}

package run.cocoon.vmm;

import java.nio.file.Path;
import java.util.Optional;
import run.cocoon.vmm.layout.Layout;

/**
 * What to boot and with what resources.
 *
 * @param kernel  a {@code vmlinux} (PVH or 64-bit entry) or {@code bzImage}
 * @param initrd  an initramfs, optional
 * @param cmdline the kernel command line
 * @param vcpus   number of vCPUs, 1 to {@link #MAX_VCPUS}
 * @param memoryBytes guest RAM
 */
public record VmConfig(Path kernel, Optional<Path> initrd, String cmdline, int vcpus, long memoryBytes) {
  /** Most vCPUs a VM may have (the MP table and MADT address APIC ids 0..254). */
  public static final int MAX_VCPUS = 32;
  /** Guest RAM when none is given. */
  public static final long DEFAULT_MEMORY_BYTES = 256L << 20;
  /**
   * The command line when none is given: the console on COM1, reboot through the keyboard
   * controller, no PCI probing, and a panic ends the VM at once (pvpanic reports it first).
   */
  public static final String DEFAULT_CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off";

  public VmConfig {
    if (vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new IllegalArgumentException("vCPUs must be between 1 and " + MAX_VCPUS + ", got " + vcpus);
    }
    Layout.ramRanges(memoryBytes); // throws with the allowed range when the size is unusable
  }
}

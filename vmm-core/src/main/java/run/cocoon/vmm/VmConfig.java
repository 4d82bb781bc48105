package run.cocoon.vmm;

import java.nio.file.Path;
import java.util.List;
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
 * @param devices virtio devices, in the order they get MMIO windows and interrupts
 */
public record VmConfig(Path kernel, Optional<Path> initrd, String cmdline, int vcpus, long memoryBytes,
    List<VirtioSpec> devices) {
  /** Most vCPUs a VM may have (the MP table and MADT address APIC ids 0..254). */
  public static final int MAX_VCPUS = 32;
  /** Guest RAM when none is given. */
  public static final long DEFAULT_MEMORY_BYTES = 256L << 20;
  /**
   * The command line when none is given: the console on COM1, reboot through the keyboard
   * controller, no PCI probing, and a panic ends the VM at once (pvpanic reports it first).
   */
  public static final String DEFAULT_CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off";

  /** Most virtio devices a VM may have: one IOAPIC pin each from {@link Layout#VIRTIO_FIRST_GSI}. */
  public static final int MAX_VIRTIO_DEVICES = Layout.VIRTIO_MAX_DEVICES;

  public VmConfig {
    devices = List.copyOf(devices);
    if (devices.size() > MAX_VIRTIO_DEVICES) {
      throw new IllegalArgumentException("at most " + MAX_VIRTIO_DEVICES + " virtio devices, got "
          + devices.size());
    }
    if (vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new IllegalArgumentException("vCPUs must be between 1 and " + MAX_VCPUS + ", got " + vcpus);
    }
    Layout.ramRanges(memoryBytes); // throws with the allowed range when the size is unusable
  }

  /** A VM without virtio devices. */
  public VmConfig(Path kernel, Optional<Path> initrd, String cmdline, int vcpus, long memoryBytes) {
    this(kernel, initrd, cmdline, vcpus, memoryBytes, List.of());
  }

  public VmConfig withDevices(List<VirtioSpec> newDevices) {
    return new VmConfig(kernel, initrd, cmdline, vcpus, memoryBytes, newDevices);
  }
}

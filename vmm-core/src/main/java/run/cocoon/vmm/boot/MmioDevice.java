package run.cocoon.vmm.boot;

import static run.cocoon.vmm.boot.Bytes.hex;

import run.cocoon.vmm.layout.Layout;

/**
 * A virtio-mmio device window and its interrupt, as the DSDT announces it (ACPI id LNRO0005).
 * Under hardware-reduced ACPI the kernel numbers IRQs dynamically, so an IRQ number given on the
 * command line ({@code virtio_mmio.device=...:5}) no longer names IOAPIC pin 5; a DSDT entry
 * makes the kernel map the GSI itself.
 */
public record MmioDevice(long address, long size, int gsi) {

  void check() throws BootException {
    if (Long.compareUnsigned(address, Layout.MMIO_HOLE_START) < 0 || size <= 0
        || Long.compareUnsigned(address + size, Layout.IOAPIC_ADDRESS) > 0
        || Long.compareUnsigned(address + size, address) < 0) {
      throw new BootException.InvalidMachine("virtio-mmio window " + hex(address) + "+" + size
          + " is not inside the MMIO hole below the IOAPIC");
    }
    if (gsi < 0 || gsi >= BootLimits.IOAPIC_PINS) {
      throw new BootException.InvalidMachine("virtio-mmio GSI " + gsi + " is not an IOAPIC pin (0.."
          + (BootLimits.IOAPIC_PINS - 1) + ")");
    }
  }
}

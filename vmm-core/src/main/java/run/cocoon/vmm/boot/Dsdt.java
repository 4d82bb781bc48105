package run.cocoon.vmm.boot;

import static run.cocoon.vmm.boot.Aml.concat;
import static run.cocoon.vmm.boot.Aml.device;
import static run.cocoon.vmm.boot.Aml.integer;
import static run.cocoon.vmm.boot.Aml.name;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import run.cocoon.vmm.layout.Ports;

/**
 * The AML body of our DSDT. As ASL it reads:
 *
 * <pre>
 * Name (_S5_, Package () { 5, 0, 0, 0 })          // soft-off: SLP_TYP 5 for both registers
 * Scope (\_SB_) {
 *   Device (COM1) {                               // the 8250 at 0x3f8, IRQ 4
 *     Name (_HID, EisaId ("PNP0501"))
 *     Name (_UID, 1)
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3f8, 0x3f8, 1, 8)  IRQNoFlags () {4} })
 *   }
 *   Device (PEVT) {                               // optional pvpanic port
 *     Name (_HID, "QEMU0001")
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, port, port, 1, 1) })
 *   }
 *   Device (V000) {                               // one per virtio-mmio device
 *     Name (_HID, "LNRO0005")
 *     Name (_UID, 0)
 *     Name (_CRS, ResourceTemplate () {
 *       Memory32Fixed (ReadWrite, base, size)
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi }
 *     })
 *   }
 * }
 * </pre>
 *
 * COM1 must be here: hardware-reduced ACPI makes Linux drop the legacy PIC and allocate IRQ
 * numbers dynamically, so the 8250 driver's built-in "IRQ 4" would not exist; declared as a PNP
 * device it gets the IRQ the kernel maps for GSI 4.
 */
final class Dsdt {
  /** EisaId("PNP0501"): 16550A-compatible serial port. */
  static final String SERIAL_HID = "PNP0501";
  /** ACPI id the Linux virtio-mmio driver matches. */
  static final String VIRTIO_MMIO_HID = "LNRO0005";
  /** ACPI id of QEMU's pvpanic device, matched by Linux's pvpanic-mmio driver. */
  static final String PVPANIC_HID = "QEMU0001";
  static final int COM1_PORTS = 8;

  private Dsdt() {}

  static byte[] body(List<MmioDevice> virtio, OptionalInt pvpanicPort) {
    // Package(){5, 0, 0, 0}: SLP_TYPa = 5, SLP_TYPb = 0, two reserved zeros.
    // Encodes as 12 07 04 0a 05 00 00 00.
    byte[] s5 = name("_S5_", Aml.packageOf(integer(Ports.ACPI_S5_SLEEP_TYPE), integer(0),
        integer(0), integer(0)));
    List<byte[]> devices = new ArrayList<>();
    devices.add(device("COM1", concat(
        name("_HID", integer(Aml.eisaId(SERIAL_HID))),
        name("_UID", integer(1)),
        name("_CRS", Aml.resourceTemplate(Aml.io(Ports.COM1_BASE, COM1_PORTS),
            Aml.irqNoFlags(Ports.COM1_IRQ))))));
    pvpanicPort.ifPresent(port -> devices.add(device("PEVT", concat(
        name("_HID", Aml.string(PVPANIC_HID)),
        name("_CRS", Aml.resourceTemplate(Aml.io(port, 1)))))));
    for (int i = 0; i < virtio.size(); i++) {
      MmioDevice d = virtio.get(i);
      devices.add(device(String.format("V%03X", i), concat(
          name("_HID", Aml.string(VIRTIO_MMIO_HID)),
          name("_UID", integer(i)),
          name("_CRS", Aml.resourceTemplate(Aml.memory32Fixed(d.address(), d.size()),
              Aml.interruptEdge(d.gsi()))))));
    }
    return concat(s5, Aml.rootScope("_SB_", concat(devices.toArray(byte[][]::new))));
  }
}

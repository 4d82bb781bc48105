package run.cocoon.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.layout.Ports;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * ACPI tables for a hardware-reduced platform, placed from {@link Layout#ACPI_ADDRESS} in the
 * area the kernel scans for the RSDP: RSDP -> XSDT -> {FADT -> DSDT, MADT}.
 *
 * <p>The guest powers off by writing SLP_TYP 5 with SLP_EN to the sleep control register
 * ({@link Ports#ACPI_SLEEP_CONTROL}) and resets by writing {@link Ports#ACPI_RESET_VALUE} to the
 * reset register ({@link Ports#ACPI_RESET}); no PM1 blocks, no SCI, no FACS exist.
 *
 * <p>The MADT has no interrupt source override for IRQ 0. PC firmware sends IRQ 0 to GSI 2
 * because the chipset wires the PIT to IOAPIC pin 2, but KVM's default GSI routing raises the
 * in-kernel PIT on GSI 0 and sends GSI n to IOAPIC pin n; describing the PC wiring would make the
 * kernel listen on a pin that never fires. The MP table says the same.
 */
public final class AcpiTables {
  static final int HEADER_BYTES = 36;
  static final int RSDP_BYTES = 36;
  static final int FADT_BYTES = 276;
  static final byte[] OEM_ID = "COCOON".getBytes(StandardCharsets.US_ASCII);
  static final byte[] OEM_TABLE_ID = "COCOONVM".getBytes(StandardCharsets.US_ASCII);
  static final byte[] CREATOR_ID = "CCON".getBytes(StandardCharsets.US_ASCII);
  static final int OEM_REVISION = 1;
  static final int CREATOR_REVISION = 1;

  static final int FADT_REVISION = 6;
  static final int FADT_MINOR_REVISION = 0;
  /** FADT flags: PWR_BUTTON and SLP_BUTTON (no fixed-feature buttons). */
  static final int FADT_NO_FIXED_BUTTONS = 1 << 4 | 1 << 5;
  static final int FADT_RESET_REG_SUP = 1 << 10;
  static final int FADT_HW_REDUCED_ACPI = 1 << 20;
  /** IAPC_BOOT_ARCH: 8042 present (its reset line is our fallback), no VGA, no CMOS RTC. */
  static final int IAPC_8042 = 1 << 1;
  static final int IAPC_NO_VGA = 1 << 2;
  static final int IAPC_NO_CMOS_RTC = 1 << 5;
  static final int GAS_SYSTEM_IO = 1;
  static final int GAS_ACCESS_BYTE = 1;

  static final int MADT_REVISION = 5;
  static final int MADT_PCAT_COMPAT = 1;
  static final int MADT_LOCAL_APIC = 0;
  static final int MADT_IOAPIC = 1;
  static final int MADT_LOCAL_APIC_NMI = 4;
  static final int LAPIC_ENABLED = 1;
  static final int ALL_PROCESSORS = 0xff;

  static final int DSDT_REVISION = 2;
  static final int XSDT_REVISION = 1;
  static final int RSDP_REVISION = 2;
  /** Tables start on 16-byte boundaries (the RSDP must; the others only need 8). */
  static final int ALIGNMENT = 16;

  /** Where each table landed, for tests and the boot summary. */
  public record Placement(long rsdp, long xsdt, long fadt, long madt, long dsdt, long end) {}

  /** The tables' bytes in order (RSDP, XSDT, FADT, MADT, DSDT) and their placement. */
  record Built(Placement placement, List<byte[]> tables) {}

  private AcpiTables() {}

  static Built build(int vcpus, List<MmioDevice> virtio, OptionalInt pvpanicPort)
      throws BootException {
    byte[] dsdtBody = Dsdt.body(virtio, pvpanicPort);
    long rsdp = Layout.ACPI_ADDRESS;
    long xsdt = next(rsdp, RSDP_BYTES);
    long fadt = next(xsdt, HEADER_BYTES + 2 * 8);
    long madt = next(fadt, FADT_BYTES);
    long dsdt = next(madt, madtBytes(vcpus));
    long end = dsdt + HEADER_BYTES + dsdtBody.length;
    if (end > Layout.BIOS_AREA_END) {
      throw new BootException.InvalidMachine("the ACPI tables for " + vcpus + " vCPUs and "
          + virtio.size() + " devices need " + (end - rsdp) + " bytes, more than the "
          + (Layout.BIOS_AREA_END - rsdp) + " between " + Bytes.hex(rsdp) + " and 1 MiB");
    }
    Placement p = new Placement(rsdp, xsdt, fadt, madt, dsdt, end);
    return new Built(p, List.of(rsdp(xsdt), xsdt(fadt, madt), fadt(dsdt), madt(vcpus),
        table("DSDT", DSDT_REVISION, dsdtBody)));
  }

  static Placement write(GuestMemory memory, Built built) {
    Placement p = built.placement();
    memory.fill(p.rsdp(), p.end() - p.rsdp(), (byte) 0);
    long[] at = {p.rsdp(), p.xsdt(), p.fadt(), p.madt(), p.dsdt()};
    for (int i = 0; i < at.length; i++) {
      memory.write(at[i], built.tables().get(i));
    }
    return p;
  }

  private static long next(long at, int bytes) {
    return Bytes.alignUp(at + bytes, ALIGNMENT);
  }

  /** RSDP revision 2: points only at the XSDT (RsdtAddress 0), two checksums. */
  static byte[] rsdp(long xsdt) {
    ByteBuffer b = Bytes.buffer(RSDP_BYTES);
    b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
    b.put((byte) 0); // checksum over the first 20 bytes, below
    b.put(OEM_ID);
    b.put((byte) RSDP_REVISION);
    b.putInt(0); // RsdtAddress: no RSDT, the XSDT serves 64-bit and 32-bit readers alike
    b.putInt(RSDP_BYTES);
    b.putLong(xsdt);
    b.put((byte) 0); // extended checksum over all 36 bytes, below
    byte[] out = b.array();
    out[8] = Bytes.checksum(out, 0, 20);
    out[32] = Bytes.checksum(out, 0, RSDP_BYTES);
    return out;
  }

  static byte[] xsdt(long... entries) {
    ByteBuffer b = Bytes.buffer(entries.length * 8);
    for (long e : entries) {
      b.putLong(e);
    }
    return table("XSDT", XSDT_REVISION, b.array());
  }

  /** FADT revision 6.0 (276 bytes); offsets are those of ACPI 6 table 5-33 minus the header. */
  static byte[] fadt(long dsdt) {
    ByteBuffer b = Bytes.buffer(FADT_BYTES - HEADER_BYTES);
    b.putInt(40 - HEADER_BYTES, (int) dsdt); // DSDT (32-bit copy of X_DSDT)
    b.putShort(109 - HEADER_BYTES, (short) (IAPC_8042 | IAPC_NO_VGA | IAPC_NO_CMOS_RTC));
    b.putInt(112 - HEADER_BYTES, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP | FADT_NO_FIXED_BUTTONS);
    gas(b, 116 - HEADER_BYTES, Ports.ACPI_RESET); // RESET_REG
    b.put(128 - HEADER_BYTES, (byte) Ports.ACPI_RESET_VALUE);
    b.put(131 - HEADER_BYTES, (byte) FADT_MINOR_REVISION);
    b.putLong(140 - HEADER_BYTES, dsdt); // X_DSDT
    gas(b, 244 - HEADER_BYTES, Ports.ACPI_SLEEP_CONTROL); // SLEEP_CONTROL_REG
    gas(b, 256 - HEADER_BYTES, Ports.ACPI_SLEEP_STATUS); // SLEEP_STATUS_REG
    b.put(268 - HEADER_BYTES, "COCOON\0\0".getBytes(StandardCharsets.US_ASCII)); // hypervisor id
    return table("FACP", FADT_REVISION, b.array());
  }

  /** A Generic Address Structure for one byte in I/O space. */
  private static void gas(ByteBuffer b, int at, int port) {
    b.put(at, (byte) GAS_SYSTEM_IO);
    b.put(at + 1, (byte) 8); // bit width
    b.put(at + 2, (byte) 0); // bit offset
    b.put(at + 3, (byte) GAS_ACCESS_BYTE);
    b.putLong(at + 4, port);
  }

  static int madtBytes(int vcpus) {
    return HEADER_BYTES + 8 + 8 * vcpus + 12 + 6;
  }

  /** MADT: local APIC address, one enabled local APIC per vCPU, the IOAPIC, LINT1 as NMI. */
  static byte[] madt(int vcpus) {
    ByteBuffer b = Bytes.buffer(madtBytes(vcpus) - HEADER_BYTES);
    b.putInt((int) Layout.LAPIC_ADDRESS);
    b.putInt(MADT_PCAT_COMPAT);
    for (int cpu = 0; cpu < vcpus; cpu++) {
      b.put((byte) MADT_LOCAL_APIC).put((byte) 8).put((byte) cpu).put((byte) cpu)
          .putInt(LAPIC_ENABLED);
    }
    b.put((byte) MADT_IOAPIC).put((byte) 12).put((byte) vcpus).put((byte) 0)
        .putInt((int) Layout.IOAPIC_ADDRESS).putInt(0); // GSI base 0
    // Flags 0: conforming polarity and trigger; LINT1 is wired to NMI as on every PC.
    b.put((byte) MADT_LOCAL_APIC_NMI).put((byte) 6).put((byte) ALL_PROCESSORS).putShort((short) 0)
        .put((byte) 1);
    return table("APIC", MADT_REVISION, b.array());
  }

  /** A system description table: the 36-byte header, {@code body}, checksum over all of it. */
  static byte[] table(String signature, int revision, byte[] body) {
    ByteBuffer b = Bytes.buffer(HEADER_BYTES + body.length);
    b.put(signature.getBytes(StandardCharsets.US_ASCII));
    b.putInt(HEADER_BYTES + body.length);
    b.put((byte) revision);
    b.put((byte) 0); // checksum, below
    b.put(OEM_ID);
    b.put(OEM_TABLE_ID);
    b.putInt(OEM_REVISION);
    b.put(CREATOR_ID);
    b.putInt(CREATOR_REVISION);
    b.put(body);
    byte[] out = b.array();
    out[9] = Bytes.checksum(out, 0, out.length);
    return out;
  }

  /** The device list checks shared with {@link BootPlan}. */
  static List<MmioDevice> checkDevices(List<MmioDevice> devices) throws BootException {
    if (devices.size() > BootLimits.MAX_MMIO_DEVICES) {
      throw new BootException.InvalidMachine(devices.size() + " virtio-mmio devices, more than "
          + BootLimits.MAX_MMIO_DEVICES);
    }
    List<MmioDevice> out = new ArrayList<>();
    for (MmioDevice d : devices) {
      d.check();
      out.add(d);
    }
    return List.copyOf(out);
  }
}

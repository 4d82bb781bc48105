package run.cocoon.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The Intel MultiProcessor Specification 1.4 tables at the start of the EBDA, where Linux looks
 * for them (it scans the first KiB of the EBDA, at 639 KiB). A kernel without ACPI learns its
 * CPUs, the IOAPIC and the ISA interrupt routing from here; with ACPI it uses the MADT instead.
 *
 * <p>ISA IRQs 0-15 go to IOAPIC pins 0-15 one to one. That is how KVM's default GSI routing
 * wires its in-kernel devices (the PIT raises GSI 0, which reaches IOAPIC pin 0), so there is no
 * IRQ0-to-pin-2 rewiring as on PC chipsets.
 */
public final class MpTable {
  static final int FLOATING_POINTER_BYTES = 16;
  static final int HEADER_BYTES = 44;
  static final int PROCESSOR_ENTRY_BYTES = 20;
  static final int SHORT_ENTRY_BYTES = 8;
  static final int ISA_IRQS = 16;
  static final int SPEC_REVISION_1_4 = 4;
  static final int ENTRY_PROCESSOR = 0;
  static final int ENTRY_BUS = 1;
  static final int ENTRY_IOAPIC = 2;
  static final int ENTRY_IO_INTERRUPT = 3;
  static final int ENTRY_LOCAL_INTERRUPT = 4;
  static final int CPU_ENABLED = 1;
  static final int CPU_BOOTSTRAP = 2;
  /** Local APIC version reported for every CPU (an integrated APIC, as KVM emulates). */
  static final int LAPIC_VERSION = 0x14;
  /** IOAPIC version of KVM's in-kernel IOAPIC. */
  static final int IOAPIC_VERSION = 0x11;
  /** CPU signature: family 6; the kernel takes the real one from CPUID. */
  static final int CPU_SIGNATURE = 0x600;
  /** CPUID.1:EDX feature flags claimed: FPU (bit 0) and APIC (bit 9). */
  static final int CPU_FEATURES = 0x201;
  static final int INT_TYPE_INT = 0;
  static final int INT_TYPE_NMI = 1;
  static final int INT_TYPE_EXTINT = 3;
  static final int ISA_BUS_ID = 0;
  static final int ALL_LOCAL_APICS = 0xff;

  private MpTable() {}

  /** Bytes the tables take for {@code vcpus} processors. */
  static int size(int vcpus) {
    return FLOATING_POINTER_BYTES + HEADER_BYTES + vcpus * PROCESSOR_ENTRY_BYTES
        + SHORT_ENTRY_BYTES * (1 + 1 + ISA_IRQS + 2);
  }

  /** Checks that {@code vcpus} can be described in the space between the EBDA and the ACPI area. */
  static void check(int vcpus) throws BootException {
    if (vcpus < 1 || vcpus > BootLimits.MAX_VCPUS) {
      throw new BootException.InvalidMachine(vcpus + " vCPUs: the MP table and MADT describe 1 to "
          + BootLimits.MAX_VCPUS + " (8-bit xAPIC ids, one kept for the IOAPIC)");
    }
    if (Layout.EBDA_ADDRESS + size(vcpus) > Layout.ACPI_ADDRESS) {
      throw new BootException.InvalidMachine("the MP table for " + vcpus
          + " vCPUs does not fit between the EBDA and the ACPI tables");
    }
  }

  /** The floating pointer and configuration table, as they sit at {@link Layout#EBDA_ADDRESS}. */
  static byte[] build(int vcpus) {
    ByteBuffer b = Bytes.buffer(size(vcpus));
    int ioapicId = vcpus;
    long tableAddress = Layout.EBDA_ADDRESS + FLOATING_POINTER_BYTES;

    // Floating pointer structure: "_MP_", config table address, length in 16-byte units.
    b.put("_MP_".getBytes(StandardCharsets.US_ASCII));
    b.putInt((int) tableAddress);
    b.put((byte) 1);
    b.put((byte) SPEC_REVISION_1_4);
    b.put((byte) 0); // checksum, below
    b.put((byte) 0); // feature byte 1: 0 = a configuration table follows
    b.put((byte) 0); // feature byte 2: no IMCR, virtual wire mode
    b.put(new byte[3]);

    int header = b.position();
    b.put("PCMP".getBytes(StandardCharsets.US_ASCII));
    b.putShort((short) (size(vcpus) - FLOATING_POINTER_BYTES));
    b.put((byte) SPEC_REVISION_1_4);
    b.put((byte) 0); // checksum, below
    b.put(padded("COCOON", 8));
    b.put(padded("MICROVM", 12));
    b.putInt(0); // no OEM table
    b.putShort((short) 0);
    b.putShort((short) (vcpus + 1 + 1 + ISA_IRQS + 2));
    b.putInt((int) Layout.LAPIC_ADDRESS);
    b.putShort((short) 0); // no extended table
    b.put((byte) 0);
    b.put((byte) 0);

    for (int cpu = 0; cpu < vcpus; cpu++) {
      b.put((byte) ENTRY_PROCESSOR);
      b.put((byte) cpu); // local APIC id = vCPU index
      b.put((byte) LAPIC_VERSION);
      b.put((byte) (CPU_ENABLED | (cpu == 0 ? CPU_BOOTSTRAP : 0)));
      b.putInt(CPU_SIGNATURE);
      b.putInt(CPU_FEATURES);
      b.put(new byte[8]);
    }
    b.put((byte) ENTRY_BUS).put((byte) ISA_BUS_ID).put(padded("ISA", 6));
    b.put((byte) ENTRY_IOAPIC).put((byte) ioapicId).put((byte) IOAPIC_VERSION).put((byte) 1)
        .putInt((int) Layout.IOAPIC_ADDRESS);
    for (int irq = 0; irq < ISA_IRQS; irq++) {
      // Flags 0: polarity and trigger "conforming to the bus" (ISA: edge, active high).
      b.put((byte) ENTRY_IO_INTERRUPT).put((byte) INT_TYPE_INT).putShort((short) 0)
          .put((byte) ISA_BUS_ID).put((byte) irq).put((byte) ioapicId).put((byte) irq);
    }
    b.put((byte) ENTRY_LOCAL_INTERRUPT).put((byte) INT_TYPE_EXTINT).putShort((short) 0)
        .put((byte) ISA_BUS_ID).put((byte) 0).put((byte) ALL_LOCAL_APICS).put((byte) 0);
    b.put((byte) ENTRY_LOCAL_INTERRUPT).put((byte) INT_TYPE_NMI).putShort((short) 0)
        .put((byte) ISA_BUS_ID).put((byte) 0).put((byte) ALL_LOCAL_APICS).put((byte) 1);

    byte[] out = b.array();
    out[header + 7] = Bytes.checksum(out, header, out.length);
    out[10] = Bytes.checksum(out, 0, FLOATING_POINTER_BYTES);
    return out;
  }

  static void write(GuestMemory memory, int vcpus) {
    memory.write(Layout.EBDA_ADDRESS, build(vcpus));
  }

  /** {@code text} in a field of {@code length} bytes, space padded (MP strings are not NUL-terminated). */
  static byte[] padded(String text, int length) {
    byte[] out = new byte[length];
    java.util.Arrays.fill(out, (byte) ' ');
    byte[] t = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(t, 0, out, 0, Math.min(t.length, length));
    return out;
  }
}

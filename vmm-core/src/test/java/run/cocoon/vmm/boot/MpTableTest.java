package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import run.cocoon.vmm.layout.Layout;

class MpTableTest {
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 64, BootLimits.MAX_VCPUS})
  void tablesAreWellFormed(int vcpus) throws Exception {
    MpTable.check(vcpus);
    byte[] t = MpTable.build(vcpus);
    ByteBuffer b = TestImages.le(t);
    assertEquals("_MP_", new String(t, 0, 4, StandardCharsets.US_ASCII));
    assertEquals(0, Layout.EBDA_ADDRESS % 16, "floating pointer 16-byte aligned");
    assertTrue(Bytes.sumsToZero(t, 0, 16), "floating pointer checksum");
    assertEquals(1, t[8], "length in paragraphs");
    assertEquals(4, t[9], "spec 1.4");
    long table = Integer.toUnsignedLong(b.getInt(4));
    assertEquals(Layout.EBDA_ADDRESS + 16, table);
    int h = 16;
    assertEquals("PCMP", new String(t, h, 4, StandardCharsets.US_ASCII));
    int length = Short.toUnsignedInt(b.getShort(h + 4));
    assertEquals(t.length - 16, length);
    assertTrue(Bytes.sumsToZero(t, h, h + length), "configuration table checksum");
    int entries = Short.toUnsignedInt(b.getShort(h + 34));
    assertEquals(Layout.LAPIC_ADDRESS, Integer.toUnsignedLong(b.getInt(h + 36)));

    int at = h + 44;
    int processors = 0;
    int ioInterrupts = 0;
    int localInterrupts = 0;
    int lastType = -1;
    for (int i = 0; i < entries; i++) {
      int type = t[at];
      assertTrue(type >= lastType, "entries sorted by type");
      lastType = type;
      switch (type) {
        case 0 -> {
          assertEquals(processors, t[at + 1] & 0xff, "APIC id");
          assertEquals(processors == 0 ? 3 : 1, t[at + 3], "enabled, BSP on vCPU 0 only");
          processors++;
          at += 20;
        }
        case 1 -> {
          assertEquals("ISA   ", new String(t, at + 2, 6, StandardCharsets.US_ASCII));
          at += 8;
        }
        case 2 -> {
          assertEquals(vcpus, t[at + 1] & 0xff, "IOAPIC id after the CPUs");
          assertEquals(0x11, t[at + 2]);
          assertEquals(1, t[at + 3]);
          assertEquals(Layout.IOAPIC_ADDRESS, Integer.toUnsignedLong(b.getInt(at + 4)));
          at += 8;
        }
        case 3 -> {
          assertEquals(ioInterrupts, t[at + 5], "ISA IRQ");
          assertEquals(ioInterrupts, t[at + 7], "IOAPIC pin = IRQ");
          assertEquals(vcpus, t[at + 6] & 0xff);
          ioInterrupts++;
          at += 8;
        }
        case 4 -> {
          assertEquals(localInterrupts == 0 ? 3 : 1, t[at + 1], "ExtINT then NMI");
          assertEquals(localInterrupts, t[at + 7], "LINT0 then LINT1");
          localInterrupts++;
          at += 8;
        }
        default -> throw new AssertionError("entry type " + type);
      }
    }
    assertEquals(t.length, at);
    assertEquals(vcpus, processors);
    assertEquals(16, ioInterrupts);
    assertEquals(2, localInterrupts);
    assertTrue(Layout.EBDA_ADDRESS + t.length <= Layout.ACPI_ADDRESS);
  }
}

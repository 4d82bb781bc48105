package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.layout.Ports;

class AcpiTablesTest {
  static final List<MmioDevice> DEVICES = List.of(
      new MmioDevice(Layout.VIRTIO_MMIO_BASE, Layout.VIRTIO_MMIO_STRIDE, 5),
      new MmioDevice(Layout.VIRTIO_MMIO_BASE + Layout.VIRTIO_MMIO_STRIDE,
          Layout.VIRTIO_MMIO_STRIDE, 6));
  static final OptionalInt PVPANIC = OptionalInt.of(0x505);

  @TempDir Path dir;

  static AcpiTables.Built built(int vcpus) throws BootException {
    return AcpiTables.build(vcpus, DEVICES, PVPANIC);
  }

  static byte[] table(AcpiTables.Built b, int index) {
    return b.tables().get(index);
  }

  @Test
  void rsdpPointsAtTheXsdtWithBothChecksums() throws Exception {
    AcpiTables.Built b = built(2);
    byte[] rsdp = table(b, 0);
    assertEquals("RSD PTR ", new String(rsdp, 0, 8, StandardCharsets.US_ASCII));
    assertTrue(Bytes.sumsToZero(rsdp, 0, 20), "ACPI 1.0 checksum");
    assertTrue(Bytes.sumsToZero(rsdp, 0, 36), "extended checksum");
    assertEquals(2, rsdp[15], "revision");
    assertEquals("COCOON", new String(rsdp, 9, 6, StandardCharsets.US_ASCII));
    ByteBuffer r = TestImages.le(rsdp);
    assertEquals(36, r.getInt(20));
    assertEquals(b.placement().xsdt(), r.getLong(24));
    assertEquals(0, b.placement().rsdp() % 16);
    assertEquals(Layout.ACPI_ADDRESS, b.placement().rsdp());
  }

  @Test
  void everyTableHasItsSignatureLengthAndChecksum() throws Exception {
    AcpiTables.Built b = built(4);
    String[] signatures = {"XSDT", "FACP", "APIC", "DSDT"};
    for (int i = 0; i < signatures.length; i++) {
      byte[] t = table(b, i + 1);
      assertEquals(signatures[i], new String(t, 0, 4, StandardCharsets.US_ASCII));
      assertEquals(t.length, TestImages.le(t).getInt(4));
      assertTrue(Bytes.sumsToZero(t, 0, t.length), signatures[i] + " checksum");
      assertEquals("COCOON", new String(t, 10, 6, StandardCharsets.US_ASCII));
    }
    ByteBuffer xsdt = TestImages.le(table(b, 1));
    assertEquals(36 + 16, table(b, 1).length);
    assertEquals(b.placement().fadt(), xsdt.getLong(36));
    assertEquals(b.placement().madt(), xsdt.getLong(44));
    assertTrue(b.placement().end() <= Layout.BIOS_AREA_END);
  }

  @Test
  void fadtIsHardwareReducedWithSleepAndResetRegisters() throws Exception {
    AcpiTables.Built b = built(1);
    byte[] f = table(b, 2);
    ByteBuffer fadt = TestImages.le(f);
    assertEquals(276, f.length);
    assertEquals(6, f[8], "revision");
    int flags = fadt.getInt(112);
    assertTrue((flags & 1 << 20) != 0, "HW_REDUCED_ACPI");
    assertTrue((flags & 1 << 10) != 0, "RESET_REG_SUP");
    int bootArch = fadt.getShort(109);
    assertEquals(0b10_0110, bootArch, "8042, no VGA, no CMOS RTC");
    assertGas(fadt, 116, Ports.ACPI_RESET);
    assertEquals(Ports.ACPI_RESET_VALUE, f[128]);
    assertEquals(b.placement().dsdt(), fadt.getLong(140), "X_DSDT");
    assertEquals(b.placement().dsdt(), fadt.getInt(40), "DSDT");
    assertGas(fadt, 244, Ports.ACPI_SLEEP_CONTROL);
    assertGas(fadt, 256, Ports.ACPI_SLEEP_STATUS);
  }

  private static void assertGas(ByteBuffer b, int at, int port) {
    assertEquals(1, b.get(at), "SystemIO");
    assertEquals(8, b.get(at + 1), "8 bits");
    assertEquals(0, b.get(at + 2));
    assertEquals(1, b.get(at + 3), "byte access");
    assertEquals(port, b.getLong(at + 4));
  }

  @Test
  void madtListsEveryCpuTheIoapicAndLint1Nmi() throws Exception {
    int vcpus = 3;
    byte[] m = table(built(vcpus), 3);
    ByteBuffer madt = TestImages.le(m);
    assertEquals(Layout.LAPIC_ADDRESS, Integer.toUnsignedLong(madt.getInt(36)));
    assertEquals(1, madt.getInt(40), "PCAT_COMPAT");
    int at = 44;
    for (int cpu = 0; cpu < vcpus; cpu++) {
      assertArrayEquals(new byte[] {0, 8, (byte) cpu, (byte) cpu, 1, 0, 0, 0},
          Arrays.copyOfRange(m, at, at + 8));
      at += 8;
    }
    assertEquals(1, m[at]);
    assertEquals(12, m[at + 1]);
    assertEquals(vcpus, m[at + 2], "IOAPIC id after the CPUs");
    assertEquals(Layout.IOAPIC_ADDRESS, Integer.toUnsignedLong(madt.getInt(at + 4)));
    assertEquals(0, madt.getInt(at + 8), "GSI base");
    at += 12;
    assertArrayEquals(new byte[] {4, 6, (byte) 0xff, 0, 0, 1}, Arrays.copyOfRange(m, at, at + 6));
    assertEquals(m.length, at + 6, "no interrupt source overrides");
  }

  @Test
  void dsdtDeclaresS5AndTheDevices() throws Exception {
    byte[] dsdt = table(built(1), 4);
    String hex = HexFormat.of().formatHex(dsdt);
    // Name(_S5_, Package(){5, 0, 0, 0})
    assertTrue(hex.contains("085f53355f1207040a05000000"), hex);
    // COM1: _HID EisaId("PNP0501") = 0x0105d041, IO 0x3f8 len 8, IRQNoFlags {4}
    assertTrue(hex.contains("085f4849440c41d00501"));
    assertTrue(hex.contains("4701f803f8030108"));
    assertTrue(hex.contains("221000"));
    // virtio-mmio: "LNRO0005", Memory32Fixed at 0xd0001000 size 0x1000, Interrupt edge GSI 6
    assertTrue(hex.contains(HexFormat.of().formatHex("LNRO0005".getBytes(StandardCharsets.US_ASCII))));
    assertTrue(hex.contains("86090001" + "0010 00d0".replace(" ", "") + "00100000"));
    assertTrue(hex.contains("8906000301" + "06000000"));
  }

  @Test
  void amlPackageLengths() {
    assertArrayEquals(new byte[] {0x3f}, Aml.pkgLength(0x3e));
    // 0x40 content + 2 length bytes = 0x42: low nibble 2 in byte 0, 0x4 in byte 1.
    assertArrayEquals(new byte[] {0x42, 0x04}, Aml.pkgLength(0x40));
    // 0xffc content + 3 length bytes = 0xfff... needs 2 bytes: 0xffd + 2 = 0xfff.
    assertArrayEquals(new byte[] {0x4f, (byte) 0xff}, Aml.pkgLength(0xffd));
    // 0x1000 content needs 3 bytes: 0x1003 = nibble 3, then 0x00, 0x01.
    assertArrayEquals(new byte[] {(byte) 0x83, 0x00, 0x01}, Aml.pkgLength(0x1000));
    assertEquals(0x0105_d041L, Aml.eisaId("PNP0501"));
  }

  @Test
  void tooManyDevicesOrCpusForTheArea() {
    List<MmioDevice> many = java.util.Collections.nCopies(BootLimits.MAX_MMIO_DEVICES + 1,
        DEVICES.get(0));
    org.junit.jupiter.api.Assertions.assertThrows(BootException.InvalidMachine.class,
        () -> AcpiTables.checkDevices(many));
  }

  /** An independent parser: ACPICA's disassembler must accept every table and find \_S5_. */
  @Test
  void iaslDisassemblesTheTables() throws Exception {
    Path iasl = Stream.of("/usr/bin/iasl", "/usr/local/bin/iasl").map(Path::of)
        .filter(Files::isExecutable).findFirst().orElse(null);
    if (iasl == null) {
      System.out.println("SKIP iaslDisassemblesTheTables: iasl not installed"
          + " (apt-get install acpica-tools, or scripts/setup-host)");
    }
    Assumptions.assumeTrue(iasl != null, "iasl (acpica-tools) not installed");
    AcpiTables.Built b = built(2);
    // The RSDP is not a table with a header; iasl only takes it inside an acpidump, so it is
    // checked field by field above.
    String[] names = {"xsdt", "facp", "apic", "dsdt"};
    for (int i = 0; i < names.length; i++) {
      Path file = dir.resolve(names[i] + ".dat");
      Files.write(file, b.tables().get(i + 1));
      String out = run(iasl.toString(), "-d", file.toString());
      Path dsl = dir.resolve(names[i] + ".dsl");
      assertTrue(Files.exists(dsl), names[i] + ": iasl wrote no .dsl:\n" + out);
      String text = Files.readString(dsl);
      assertTrue(!text.contains("**** Invalid") && !text.contains("Error"), names[i] + ":\n" + text);
      if (names[i].equals("dsdt")) {
        assertTrue(text.contains("_S5_") || text.contains("_S5,") || text.contains("(_S5"), text);
        assertTrue(text.contains("PNP0501"), text);
        assertTrue(text.contains("LNRO0005"), text);
        assertTrue(text.contains("QEMU0001"), text);
      }
      if (names[i].equals("facp")) {
        assertTrue(text.matches("(?s).*Hardware Reduced \\(V5\\) : 1.*"), text);
      }
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + out);
    return out;
  }
}

package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.MmapGuestMemory;

/** What {@link BootPlan#prepare} leaves in guest memory, read back field by field. */
class BootPlanTest {
  static final String CMDLINE = "console=ttyS0 reboot=k panic=-1";

  @TempDir Path dir;

  private byte[] initrd() {
    byte[] b = new byte[10_000];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 13);
    }
    return b;
  }

  @Test
  void pvhBootOfAnElfWithTheNote() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(true));
    Path initrd = TestImages.write(dir, "initrd", initrd());
    try (MmapGuestMemory memory = TestImages.memory()) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernel, Optional.of(initrd),
          CMDLINE, 2, TestImages.RAM_BYTES));
      assertEquals(BootProtocol.PVH, plan.protocol());
      assertEquals(TestImages.PVH_ENTRY, plan.entry().regs().rip());
      InitrdPlacement i = plan.initrd().orElseThrow();
      assertEquals(0, i.address() % 4096);
      assertTrue(i.end() <= TestImages.RAM_BYTES && i.end() > TestImages.RAM_BYTES - 4096,
          "initrd at the top of RAM");
      assertArrayEquals(initrd(), memory.read(i.address(), (int) i.size()));
      assertCmdline(memory);

      long si = Layout.PVH_INFO_ADDRESS;
      assertEquals(0x336e_c578, memory.readU32(si));
      assertEquals(1, memory.readU32(si + 4));
      assertEquals(1, memory.readU32(si + 12), "one module");
      assertEquals(Layout.PVH_MODLIST_ADDRESS, memory.readU64(si + 16));
      assertEquals(Layout.CMDLINE_ADDRESS, memory.readU64(si + 24));
      assertEquals(Layout.ACPI_ADDRESS, memory.readU64(si + 32), "rsdp_paddr");
      assertEquals(Layout.PVH_MEMMAP_ADDRESS, memory.readU64(si + 40));
      assertEquals(3, memory.readU32(si + 48));
      assertEquals(i.address(), memory.readU64(Layout.PVH_MODLIST_ADDRESS));
      assertEquals(i.size(), memory.readU64(Layout.PVH_MODLIST_ADDRESS + 8));
      assertMap(memory, Layout.PVH_MEMMAP_ADDRESS, 24, 3);
      assertGdt(memory);
      assertTrue(plan.summary().contains("PVH"), plan.summary());
    }
  }

  @Test
  void linux64BootOfAnElfFillsASynthesizedZeroPage() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(true));
    Path initrd = TestImages.write(dir, "initrd", initrd());
    try (MmapGuestMemory memory = TestImages.memory()) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernel, Optional.of(initrd),
          CMDLINE, 1, TestImages.RAM_BYTES).withEntry(BootConfig.Entry.LINUX_64));
      assertEquals(BootProtocol.LINUX_64, plan.protocol());
      assertEquals(TestImages.ELF_ENTRY, plan.entry().regs().rip());
      long zp = Layout.ZERO_PAGE_ADDRESS;
      assertEquals(0xaa55, memory.readU16(zp + 0x1fe));
      assertEquals("HdrS", new String(memory.read(zp + 0x202, 4), StandardCharsets.US_ASCII));
      assertEquals(0x020f, memory.readU16(zp + 0x206));
      assertEquals(0xff, memory.readU8(zp + 0x210), "type_of_loader");
      assertEquals(1, memory.readU8(zp + 0x211) & 1, "LOADED_HIGH");
      assertEquals(0, memory.readU8(zp + 0x1ef), "sentinel");
      assertZeroPageCommon(memory, plan);
      assertPageTables(memory);
    }
  }

  @Test
  void bzImageHeaderIsCopiedIntoTheZeroPage() throws Exception {
    byte[] image = TestImages.bzImage();
    Path kernel = TestImages.write(dir, "bzImage", image);
    Path initrd = TestImages.write(dir, "initrd", initrd());
    try (MmapGuestMemory memory = TestImages.memory()) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernel, Optional.of(initrd),
          CMDLINE, 1, TestImages.RAM_BYTES));
      assertEquals(BootProtocol.LINUX_64, plan.protocol());
      assertEquals(Layout.KERNEL_LOAD_ADDRESS + 0x200, plan.entry().regs().rip());
      long zp = Layout.ZERO_PAGE_ADDRESS;
      // Header bytes as in the file, except the fields the loader owns.
      assertEquals(0x020f, memory.readU16(zp + 0x206));
      assertEquals(0x7fff_ffff, memory.readU32(zp + 0x22c));
      assertEquals(TestImages.BZ_INIT_SIZE, memory.readU32(zp + 0x260));
      assertEquals(TestImages.BZ_PREF_ADDRESS, memory.readU64(zp + 0x258));
      assertEquals(0, memory.readU8(zp + 0x26c), "nothing copied past the header's end");
      assertZeroPageCommon(memory, plan);
      assertTrue(plan.initrd().orElseThrow().address()
          >= TestImages.BZ_PREF_ADDRESS + TestImages.BZ_INIT_SIZE, "initrd above init_size");
      assertPageTables(memory);
      assertGdt(memory);
    }
  }

  @Test
  void largeGuestGetsRamAboveFourGib() {
    List<MemoryMap.Entry> map = MemoryMap.of(4L << 30);
    assertEquals(4, map.size());
    assertEquals(new MemoryMap.Entry(Layout.KERNEL_LOAD_ADDRESS,
        Layout.MMIO_HOLE_START - Layout.KERNEL_LOAD_ADDRESS, 1), map.get(2));
    assertEquals(new MemoryMap.Entry(Layout.FOUR_GIB, (4L << 30) - Layout.MMIO_HOLE_START, 1),
        map.get(3));
  }

  private static void assertCmdline(GuestMemory memory) {
    byte[] bytes = memory.read(Layout.CMDLINE_ADDRESS, CMDLINE.length() + 1);
    assertEquals(CMDLINE, new String(bytes, 0, CMDLINE.length(), StandardCharsets.US_ASCII));
    assertEquals(0, bytes[CMDLINE.length()]);
  }

  private static void assertZeroPageCommon(GuestMemory memory, BootPlan plan) {
    long zp = Layout.ZERO_PAGE_ADDRESS;
    InitrdPlacement i = plan.initrd().orElseThrow();
    assertEquals(Layout.CMDLINE_ADDRESS, memory.readU32(zp + 0x228), "cmd_line_ptr");
    assertEquals(i.address(), memory.readU32(zp + 0x218), "ramdisk_image");
    assertEquals(i.size(), memory.readU32(zp + 0x21c), "ramdisk_size");
    assertEquals(0, memory.readU32(zp + 0x0c0), "ext_ramdisk_image");
    assertEquals(Layout.ACPI_ADDRESS, memory.readU64(zp + 0x070), "acpi_rsdp_addr");
    assertEquals(3, memory.readU8(zp + 0x1e8), "e820_entries");
    assertMap(memory, zp + 0x2d0, 20, 3);
    assertCmdline(memory);
    assertEquals(Layout.ZERO_PAGE_ADDRESS, plan.entry().regs().rsi());
  }

  /** [0, EBDA) RAM, [EBDA, 1 MiB) reserved, [1 MiB, end of RAM) RAM. */
  private static void assertMap(GuestMemory memory, long at, int stride, int entries) {
    long[][] expected = {
        {0, Layout.EBDA_ADDRESS, 1},
        {Layout.EBDA_ADDRESS, 0x10_0000 - Layout.EBDA_ADDRESS, 2},
        {0x10_0000, TestImages.RAM_BYTES - 0x10_0000, 1}};
    for (int e = 0; e < entries; e++) {
      long base = at + (long) e * stride;
      assertArrayEquals(expected[e], new long[] {memory.readU64(base), memory.readU64(base + 8),
          memory.readU32(base + 16)}, "memory map entry " + e);
    }
  }

  private static void assertPageTables(GuestMemory memory) {
    assertEquals(Layout.PDPT_ADDRESS | 3, memory.readU64(Layout.PML4_ADDRESS));
    assertEquals(0, memory.readU64(Layout.PML4_ADDRESS + 8));
    assertEquals(Layout.PD_ADDRESS | 3, memory.readU64(Layout.PDPT_ADDRESS));
    assertEquals(0, memory.readU64(Layout.PDPT_ADDRESS + 8));
    for (int i = 0; i < 512; i++) {
      assertEquals((long) i << 21 | 0x83, memory.readU64(Layout.PD_ADDRESS + 8L * i));
    }
  }

  private static void assertGdt(GuestMemory memory) {
    long[] gdt = new long[6];
    for (int i = 0; i < gdt.length; i++) {
      gdt[i] = memory.readU64(Layout.GDT_ADDRESS + 8L * i);
    }
    assertArrayEquals(new long[] {0, 0x00cf9b000000ffffL, 0x00af9b000000ffffL,
        0x00cf93000000ffffL, 0x00008b0000000067L, 0}, gdt);
    // The segments KVM gets are decoded from what the guest sees in its GDT.
    assertEquals(Gdt.toSegment(gdt[2], 0x10), EntryState.linux64(0).code());
    assertEquals(Gdt.toSegment(gdt[1], 0x08), EntryState.pvh(0).code());
    assertTrue(Arrays.stream(gdt).skip(1).limit(4).allMatch(d -> (d >>> 47 & 1) == 1));
  }
}

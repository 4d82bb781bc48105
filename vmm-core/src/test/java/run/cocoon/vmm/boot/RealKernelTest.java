package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.MmapGuestMemory;

/** Loads the project's real guest kernel, both as vmlinux (PVH) and as bzImage (64-bit). */
@Tag("slow")
@Timeout(value = GuestKernel.BUILD_TIMEOUT_MINUTES + 5, unit = TimeUnit.MINUTES)
class RealKernelTest {
  static final long RAM_BYTES = 256L << 20;
  static Path kernelDir;

  @TempDir Path dir;

  @BeforeAll
  static void build() throws Exception {
    kernelDir = GuestKernel.cacheDir();
  }

  @Test
  void vmlinuxHasAPvhNoteAndBootsThroughPvh() throws Exception {
    byte[] image = Files.readAllBytes(kernelDir.resolve("vmlinux"));
    ElfKernel elf = assertInstanceOf(ElfKernel.class,
        KernelImage.parse(image, Layout.lowRamEnd(RAM_BYTES)));
    assertTrue(elf.pvhEntry().isPresent(), "CONFIG_PVH gives a XEN_ELFNOTE_PHYS32_ENTRY note");
    assertTrue(elf.entry64().isPresent(), "e_entry is startup_64's physical address");
    // CONFIG_PHYSICAL_START is 16 MiB on x86_64.
    assertEquals(0x100_0000, elf.loadAddress());
    assertEquals(0x100_0000, elf.entry64().getAsLong());
    System.out.println(elf.describe());

    Path initrd = TestImages.write(dir, "initrd", "070701".repeat(100).getBytes(StandardCharsets.US_ASCII));
    try (MmapGuestMemory memory = MmapGuestMemory.allocate(Layout.ramRanges(RAM_BYTES))) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernelDir.resolve("vmlinux"),
          Optional.of(initrd), "console=ttyS0 panic=-1", 2, RAM_BYTES));
      assertEquals(BootProtocol.PVH, plan.protocol());
      assertEquals(elf.pvhEntry().getAsLong(), plan.entry().regs().rip());
      assertTrue(plan.initrd().orElseThrow().address() >= elf.footprintEnd());
      // The first PT_LOAD's bytes are in memory.
      ElfKernel.Segment first = elf.segments().get(0);
      byte[] expected = java.util.Arrays.copyOfRange(image, (int) first.fileOffset(),
          (int) first.fileOffset() + 4096);
      assertTrue(java.util.Arrays.equals(expected, memory.read(first.paddr(), 4096)));
      assertEquals(0x336e_c578, memory.readU32(Layout.PVH_INFO_ADDRESS));
      System.out.println(plan.summary());
    }
  }

  @Test
  void bzImageSpeaksProtocol212OrLaterWithA64BitEntry() throws Exception {
    byte[] image = Files.readAllBytes(kernelDir.resolve("bzImage"));
    BzImageKernel bz = assertInstanceOf(BzImageKernel.class,
        KernelImage.parse(image, Layout.lowRamEnd(RAM_BYTES)));
    assertTrue(bz.header().version() >= 0x020c, bz.header().protocol());
    assertTrue((bz.header().xloadflags() & 1) != 0, "XLF_KERNEL_64");
    assertTrue(bz.header().relocatable() || bz.header().prefAddress() != 0);
    System.out.println(bz.describe());
    try (MmapGuestMemory memory = MmapGuestMemory.allocate(Layout.ramRanges(RAM_BYTES))) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernelDir.resolve("bzImage"),
          Optional.empty(), "console=ttyS0", 1, RAM_BYTES));
      assertEquals(BootProtocol.LINUX_64, plan.protocol());
      assertEquals(Layout.KERNEL_LOAD_ADDRESS + 0x200, plan.entry().regs().rip());
      long zp = Layout.ZERO_PAGE_ADDRESS;
      assertEquals(bz.header().version(), memory.readU16(zp + 0x206));
      assertEquals(0xff, memory.readU8(zp + 0x210));
      assertEquals(Layout.CMDLINE_ADDRESS, memory.readU32(zp + 0x228));
      assertEquals(3, memory.readU8(zp + 0x1e8));
      assertEquals(bz.header().initSize(), memory.readU32(zp + 0x260));
      System.out.println(plan.summary());
    }
  }

  @Test
  void vmlinuxThroughThe64BitProtocol() throws Exception {
    try (MmapGuestMemory memory = MmapGuestMemory.allocate(Layout.ramRanges(RAM_BYTES))) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernelDir.resolve("vmlinux"),
          Optional.empty(), "console=ttyS0", 1, RAM_BYTES).withEntry(BootConfig.Entry.LINUX_64));
      assertEquals(BootProtocol.LINUX_64, plan.protocol());
      assertEquals(0x100_0000, plan.entry().regs().rip());
      assertEquals(0xaa55, memory.readU16(Layout.ZERO_PAGE_ADDRESS + 0x1fe));
    }
  }
}

package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.MmapGuestMemory;

class KernelImageTest {
  static final long LOW_RAM_END = Layout.lowRamEnd(TestImages.RAM_BYTES);

  @Test
  void elfSegmentsLandAtTheirPhysicalAddressesWithBssZeroed() throws Exception {
    byte[] image = TestImages.elf(true);
    KernelImage k = KernelImage.parse(image, LOW_RAM_END);
    ElfKernel elf = assertInstanceOf(ElfKernel.class, k);
    assertEquals(OptionalLong.of(TestImages.ELF_ENTRY), elf.entry64());
    assertEquals(OptionalLong.of(TestImages.PVH_ENTRY), elf.pvhEntry());
    assertEquals(TestImages.ELF_PADDR, elf.loadAddress());
    assertEquals(TestImages.ELF_PADDR + TestImages.ELF_MEM_BYTES, elf.footprintEnd());
    try (MmapGuestMemory memory = TestImages.memory()) {
      // Dirty the bss first: the loader must zero it, not rely on fresh memory.
      memory.fill(TestImages.ELF_PADDR, TestImages.ELF_MEM_BYTES + 16, (byte) 0xaa);
      elf.writeTo(memory);
      byte[] text = memory.read(TestImages.ELF_PADDR, TestImages.ELF_TEXT_BYTES);
      assertArrayEquals(Arrays.copyOfRange(image, TestImages.ELF_TEXT_OFFSET,
          TestImages.ELF_TEXT_OFFSET + TestImages.ELF_TEXT_BYTES), text);
      byte[] bss = memory.read(TestImages.ELF_PADDR + TestImages.ELF_TEXT_BYTES,
          (int) (TestImages.ELF_MEM_BYTES - TestImages.ELF_TEXT_BYTES));
      assertTrue(allEqual(bss, (byte) 0), "bss zeroed");
      assertEquals(0xaa, memory.readU8(TestImages.ELF_PADDR + TestImages.ELF_MEM_BYTES),
          "nothing written past p_memsz");
    }
  }

  @Test
  void elfWithoutNoteHasOnlyThe64BitEntry() throws Exception {
    KernelImage k = KernelImage.parse(TestImages.elf(false), LOW_RAM_END);
    assertTrue(k.pvhEntry().isEmpty());
    assertEquals(BootProtocol.LINUX_64, BootPlan.chooseProtocol(k, BootConfig.Entry.AUTO));
  }

  @Test
  void bzImageHeaderIsParsedAndTheFootprintFollowsPrefAddressAndInitSize() throws Exception {
    BzImageKernel bz = assertInstanceOf(BzImageKernel.class,
        KernelImage.parse(TestImages.bzImage(), LOW_RAM_END));
    assertEquals("2.15", bz.header().protocol());
    assertEquals(TestImages.BZ_SETUP_SECTS, bz.header().setupSects());
    assertEquals(OptionalLong.of(Layout.KERNEL_LOAD_ADDRESS + 0x200), bz.entry64());
    assertTrue(bz.pvhEntry().isEmpty());
    // Relocatable: runs from max(align_up(1 MiB, 2 MiB), pref_address 16 MiB) + init_size.
    assertEquals(TestImages.BZ_PREF_ADDRESS + TestImages.BZ_INIT_SIZE, bz.footprintEnd());
    assertEquals(2047, bz.cmdlineMaxChars());
    assertEquals(0x7fff_ffffL, bz.initrdAddressMax());
    assertEquals(BootProtocol.LINUX_64, BootPlan.chooseProtocol(bz, BootConfig.Entry.AUTO));
    byte[] header = bz.setupHeaderBytes();
    assertEquals(0x26c - 0x1f1, header.length, "header ends at 0x202 + the jump offset");
    try (MmapGuestMemory memory = TestImages.memory()) {
      bz.writeTo(memory);
      byte[] image = TestImages.bzImage();
      assertArrayEquals(Arrays.copyOfRange(image, TestImages.BZ_PAYLOAD_OFFSET, image.length),
          memory.read(Layout.KERNEL_LOAD_ADDRESS, TestImages.BZ_PAYLOAD_BYTES));
    }
  }

  @Test
  void setupSectsZeroMeansFour() throws Exception {
    byte[] image = TestImages.bzImage();
    image[0x1f1] = 0;
    assertEquals(4, ((BzImageKernel) KernelImage.parse(image, LOW_RAM_END)).header().setupSects());
  }

  @Test
  void nonRelocatableKernelRunsAtPrefAddress() {
    var h = new BzImageKernel.SetupHeader(4, 1, 0x020f, 1, 1, 0x7fffffff, 0x200000, false, 2047,
        0x40_0000, 0x10_0000);
    assertEquals(0x50_0000, BzImageKernel.footprintEnd(h, 0x1000));
  }

  static boolean allEqual(byte[] b, byte value) {
    for (byte x : b) {
      if (x != value) {
        return false;
      }
    }
    return true;
  }
}

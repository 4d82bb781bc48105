package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.MmapGuestMemory;

/**
 * Hostile input #18: malformed kernels, initrds, command lines and machine shapes fail with a
 * typed error from {@link BootPlan#prepare} and leave guest memory untouched.
 */
class HostileImagesTest {
  @TempDir Path dir;

  record Case(String name, byte[] image, Class<? extends BootException> expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static byte[] elf(Consumer<ByteBuffer> edit) {
    byte[] b = TestImages.elf(true);
    edit.accept(TestImages.le(b));
    return b;
  }

  /** Without the PVH note, so a moved segment is judged on its own. */
  static byte[] elfNoPvh(Consumer<ByteBuffer> edit) {
    byte[] b = TestImages.elf(false);
    edit.accept(TestImages.le(b));
    return b;
  }

  static byte[] bz(Consumer<ByteBuffer> edit) {
    byte[] b = TestImages.bzImage();
    edit.accept(TestImages.le(b));
    return b;
  }

  static final int LOAD = TestImages.PHDR_LOAD;
  static final int NOTE = TestImages.PHDR_NOTE;

  static Stream<Arguments> images() {
    byte[] elf = TestImages.elf(true);
    byte[] bz = TestImages.bzImage();
    return Stream.of(
        new Case("empty file", new byte[0], BootException.MalformedKernel.class),
        new Case("random bytes", new byte[4096], BootException.MalformedKernel.class),
        new Case("ELF truncated inside its header", Arrays.copyOf(elf, 40),
            BootException.MalformedKernel.class),
        new Case("ELF truncated inside the segment", Arrays.copyOf(elf, 0x1100),
            BootException.MalformedKernel.class),
        new Case("ELF32", elf(h -> h.put(4, (byte) 1)), BootException.UnsupportedKernel.class),
        new Case("big-endian ELF", elf(h -> h.put(5, (byte) 2)),
            BootException.UnsupportedKernel.class),
        new Case("aarch64 ELF", elf(h -> h.putShort(18, (short) 183)),
            BootException.UnsupportedKernel.class),
        new Case("ET_DYN", elf(h -> h.putShort(16, (short) 3)),
            BootException.UnsupportedKernel.class),
        new Case("program headers past the file", elf(h -> h.putLong(32, 0x10_0000)),
            BootException.MalformedKernel.class),
        new Case("program header offset wraps", elf(h -> h.putLong(32, -8)),
            BootException.MalformedKernel.class),
        new Case("too many program headers", elf(h -> h.putShort(56, (short) 0xffff)),
            BootException.MalformedKernel.class),
        new Case("odd program header size", elf(h -> h.putShort(54, (short) 32)),
            BootException.MalformedKernel.class),
        new Case("segment offset past the file", elf(h -> h.putLong(LOAD + 8, 0x7fff_0000L)),
            BootException.MalformedKernel.class),
        new Case("segment offset + size wraps", elf(h -> h.putLong(LOAD + 8, -0x100L)),
            BootException.MalformedKernel.class),
        new Case("p_filesz > p_memsz", elf(h -> h.putLong(LOAD + 40, 0x10)),
            BootException.MalformedKernel.class),
        new Case("p_paddr in the MMIO hole", elfNoPvh(h -> h.putLong(LOAD + 24, 0xd000_0000L)),
            BootException.KernelDoesNotFit.class),
        new Case("p_paddr beyond RAM", elfNoPvh(h -> h.putLong(LOAD + 24, 0x3ffe_000L)),
            BootException.KernelDoesNotFit.class),
        new Case("p_paddr over the boot structures", elfNoPvh(h -> h.putLong(LOAD + 24, 0x7000)),
            BootException.KernelDoesNotFit.class),
        new Case("p_paddr + p_memsz wraps", elfNoPvh(h -> {
          h.putLong(LOAD + 24, 0x100_0000);
          h.putLong(LOAD + 40, -0x100_0000L + 0x10);
        }), BootException.MalformedKernel.class),
        new Case("huge p_memsz", elf(h -> h.putLong(LOAD + 40, 1L << 40)),
            BootException.KernelDoesNotFit.class),
        new Case("note segment past the file", elf(h -> h.putLong(NOTE + 32, 1 << 20)),
            BootException.MalformedKernel.class),
        new Case("note runs past its segment", elf(h -> h.putInt(TestImages.ELF_NOTE_OFFSET + 4,
            0x7fff_fff0)), BootException.MalformedKernel.class),
        new Case("PVH entry outside the segments", elf(h -> h.putLong(
            TestImages.ELF_NOTE_OFFSET + 20 + 16, 0x200_0000)), BootException.MalformedKernel.class),
        new Case("no PT_LOAD", elf(h -> h.putInt(LOAD, 6)), BootException.MalformedKernel.class),
        new Case("bzImage too short", Arrays.copyOf(bz, 0x240), BootException.MalformedKernel.class),
        new Case("bzImage without HdrS", bz(h -> h.putInt(0x202, 0x12345678)),
            BootException.MalformedKernel.class),
        new Case("bzImage without boot_flag", bz(h -> h.putShort(0x1fe, (short) 0)),
            BootException.MalformedKernel.class),
        new Case("boot protocol 2.11", bz(h -> h.putShort(0x206, (short) 0x020b)),
            BootException.UnsupportedKernel.class),
        new Case("zImage (no LOADED_HIGH)", bz(h -> h.put(0x211, (byte) 0)),
            BootException.UnsupportedKernel.class),
        new Case("32-bit only (no XLF_KERNEL_64)", bz(h -> h.putShort(0x236, (short) 0)),
            BootException.UnsupportedKernel.class),
        new Case("setup_sects past the file", bz(h -> h.put(0x1f1, (byte) 0xff)),
            BootException.MalformedKernel.class),
        new Case("syssize larger than the file", bz(h -> h.putInt(0x1f4, 0x10_0000)),
            BootException.MalformedKernel.class),
        new Case("kernel_alignment not a power of two", bz(h -> h.putInt(0x230, 0x30_0000)),
            BootException.MalformedKernel.class),
        new Case("init_size larger than RAM", bz(h -> h.putInt(0x260, 0x7000_0000)),
            BootException.KernelDoesNotFit.class),
        new Case("pref_address near 2^64", bz(h -> h.putLong(0x258, -0x1000L)),
            BootException.KernelDoesNotFit.class)
    ).map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("images")
  void malformedKernelIsRejectedBeforeAnyWrite(Case c) throws Exception {
    Path kernel = TestImages.write(dir, "kernel", c.image());
    assertRejected(BootConfig.of(kernel, Optional.empty(), "console=ttyS0", 1,
        TestImages.RAM_BYTES), c.expected());
  }

  @Test
  void forcedPvhWithoutNote() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(false));
    assertRejected(BootConfig.of(kernel, Optional.empty(), "", 1, TestImages.RAM_BYTES)
        .withEntry(BootConfig.Entry.PVH), BootException.NoPvhEntry.class);
    Path bz = TestImages.write(dir, "bzImage", TestImages.bzImage());
    assertRejected(BootConfig.of(bz, Optional.empty(), "", 1, TestImages.RAM_BYTES)
        .withEntry(BootConfig.Entry.PVH), BootException.NoPvhEntry.class);
  }

  @Test
  void badCommandLines() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(true));
    for (String bad : List.of("console=ttyS0\0init=/evil", "a\nb", "caf\u00e9",
        "x".repeat(Layout.CMDLINE_MAX_BYTES))) {
      assertRejected(BootConfig.of(kernel, Optional.empty(), bad, 1, TestImages.RAM_BYTES),
          BootException.InvalidCommandLine.class);
    }
    // A bzImage's own cmdline_size is honoured.
    Path bz = TestImages.write(dir, "bzImage", bz(h -> h.putInt(0x238, 16)));
    assertRejected(BootConfig.of(bz, Optional.empty(), "x".repeat(17), 1, TestImages.RAM_BYTES),
        BootException.InvalidCommandLine.class);
  }

  @Test
  void initrdThatDoesNotFit() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(true));
    Path big = dir.resolve("initrd");
    try (var f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
      f.setLength(TestImages.RAM_BYTES); // sparse: as large as all of RAM
    }
    assertRejected(BootConfig.of(kernel, Optional.of(big), "", 1, TestImages.RAM_BYTES),
        BootException.InitrdDoesNotFit.class);
    Path empty = TestImages.write(dir, "empty", new byte[0]);
    assertRejected(BootConfig.of(kernel, Optional.of(empty), "", 1, TestImages.RAM_BYTES),
        BootException.InitrdDoesNotFit.class);
    // Below a bzImage's initrd_addr_max, which here is under the kernel's footprint.
    Path bz = TestImages.write(dir, "bzImage", bz(h -> h.putInt(0x22c, 0x00ff_ffff)));
    Path small = TestImages.write(dir, "small", new byte[4096]);
    assertRejected(BootConfig.of(bz, Optional.of(small), "", 1, TestImages.RAM_BYTES),
        BootException.InitrdDoesNotFit.class);
    assertRejected(BootConfig.of(kernel, Optional.of(dir.resolve("missing")), "", 1,
        TestImages.RAM_BYTES), BootException.Unreadable.class);
  }

  @Test
  void machineShapesTheTablesCannotDescribe() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", TestImages.elf(true));
    for (int vcpus : new int[] {0, -1, BootLimits.MAX_VCPUS + 1}) {
      assertRejected(BootConfig.of(kernel, Optional.empty(), "", vcpus, TestImages.RAM_BYTES),
          BootException.InvalidMachine.class);
    }
    BootConfig base = BootConfig.of(kernel, Optional.empty(), "", 1, TestImages.RAM_BYTES);
    assertRejected(base.withDevices(List.of(new MmioDevice(0x1000, 0x1000, 5)),
        OptionalInt.empty()), BootException.InvalidMachine.class);
    assertRejected(base.withDevices(List.of(new MmioDevice(Layout.VIRTIO_MMIO_BASE, 0x1000, 24)),
        OptionalInt.empty()), BootException.InvalidMachine.class);
    assertRejected(base.withDevices(List.of(new MmioDevice(-0x1000, 0x2000, 5)),
        OptionalInt.empty()), BootException.InvalidMachine.class);
    assertRejected(BootConfig.of(kernel, Optional.empty(), "", 1, 128L << 20),
        BootException.InvalidMachine.class); // memory and config disagree
  }

  @Test
  void rejectedBootLeavesEveryByteOfRamZero() throws Exception {
    Path kernel = TestImages.write(dir, "vmlinux", elfNoPvh(h -> h.putLong(LOAD + 24, 0xd000_0000L)));
    try (MmapGuestMemory memory = TestImages.memory()) {
      assertThrows(BootException.KernelDoesNotFit.class, () -> BootPlan.prepare(memory,
          BootConfig.of(kernel, Optional.empty(), "", 1, TestImages.RAM_BYTES)));
      assertTrue(TestImages.allZero(memory));
    }
  }

  @Test
  void directoryAsKernel() throws Exception {
    assertRejected(BootConfig.of(dir, Optional.empty(), "", 1, TestImages.RAM_BYTES),
        BootException.Unreadable.class);
  }

  private static void assertRejected(BootConfig config, Class<? extends BootException> expected) {
    try (MmapGuestMemory ram = TestImages.memory()) {
      RecordingMemory memory = new RecordingMemory(ram);
      BootException e = assertThrows(expected, () -> BootPlan.prepare(memory, config));
      assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
      assertEquals(0, memory.mutations(), "guest memory touched before: " + e.getMessage());
    }
  }
}

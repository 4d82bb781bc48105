package run.cocoon.vmm.boot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.GuestRegion;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.layout.Layout;

/** Small synthetic kernel images with every field at a known place, for loader tests. */
final class TestImages {
  static final long RAM_BYTES = 64L << 20;
  static final long ELF_PADDR = 0x100_0000;
  static final long ELF_ENTRY = ELF_PADDR;
  static final long PVH_ENTRY = ELF_PADDR + 0x40;
  static final int ELF_TEXT_OFFSET = 0x1000;
  static final int ELF_TEXT_BYTES = 0x300;
  static final long ELF_MEM_BYTES = 0x5000;
  static final int ELF_NOTE_OFFSET = 0x200;
  static final int PHDR_LOAD = 64;
  static final int PHDR_NOTE = 64 + 56;

  private TestImages() {}

  static MmapGuestMemory memory() {
    return MmapGuestMemory.allocate(Layout.ramRanges(RAM_BYTES));
  }

  static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A vmlinux-shaped ELF: one PT_LOAD with bss, one PT_NOTE carrying the PVH entry. */
  static byte[] elf(boolean withPvhNote) {
    byte[] b = new byte[ELF_TEXT_OFFSET + ELF_TEXT_BYTES];
    ByteBuffer h = le(b);
    b[0] = 0x7f;
    b[1] = 'E';
    b[2] = 'L';
    b[3] = 'F';
    b[4] = 2; // ELFCLASS64
    b[5] = 1; // little-endian
    b[6] = 1; // EV_CURRENT
    h.putShort(16, (short) 2); // ET_EXEC
    h.putShort(18, (short) 62); // EM_X86_64
    h.putInt(20, 1);
    h.putLong(24, ELF_ENTRY);
    h.putLong(32, PHDR_LOAD); // e_phoff
    h.putShort(52, (short) 64); // e_ehsize
    h.putShort(54, (short) 56);
    h.putShort(56, (short) 2);
    // PT_LOAD: file [0x1000, 0x1300) -> 16 MiB, memsz 0x5000 (bss after the text).
    h.putInt(PHDR_LOAD, 1);
    h.putInt(PHDR_LOAD + 4, 5);
    h.putLong(PHDR_LOAD + 8, ELF_TEXT_OFFSET);
    h.putLong(PHDR_LOAD + 16, 0xffff_ffff_8100_0000L);
    h.putLong(PHDR_LOAD + 24, ELF_PADDR);
    h.putLong(PHDR_LOAD + 32, ELF_TEXT_BYTES);
    h.putLong(PHDR_LOAD + 40, ELF_MEM_BYTES);
    h.putLong(PHDR_LOAD + 48, 0x20_0000);
    // PT_NOTE: an unrelated note first, then Xen's PHYS32_ENTRY (type 18) with an 8-byte value.
    h.putInt(PHDR_NOTE, 4);
    h.putLong(PHDR_NOTE + 8, ELF_NOTE_OFFSET);
    int n = ELF_NOTE_OFFSET;
    h.putInt(n, 4).putInt(n + 4, 4).putInt(n + 8, 1);
    b[n + 12] = 'G';
    b[n + 13] = 'N';
    b[n + 14] = 'U';
    h.putInt(n + 16, 0x1234);
    n += 20;
    h.putInt(n, 4).putInt(n + 4, 8).putInt(n + 8, withPvhNote ? 18 : 17);
    b[n + 12] = 'X';
    b[n + 13] = 'e';
    b[n + 14] = 'n';
    h.putLong(n + 16, PVH_ENTRY);
    n += 24;
    h.putLong(PHDR_NOTE + 32, n - ELF_NOTE_OFFSET);
    h.putLong(PHDR_NOTE + 40, n - ELF_NOTE_OFFSET);
    for (int i = 0; i < ELF_TEXT_BYTES; i++) {
      b[ELF_TEXT_OFFSET + i] = (byte) (i * 7 + 1);
    }
    return b;
  }

  static final int BZ_SETUP_SECTS = 4;
  static final int BZ_PAYLOAD_OFFSET = (BZ_SETUP_SECTS + 1) * 512;
  static final int BZ_PAYLOAD_BYTES = 0x4000;
  static final long BZ_INIT_SIZE = 0x80_0000;
  static final long BZ_PREF_ADDRESS = 0x100_0000;

  /** A bzImage-shaped file: protocol 2.15, 64-bit, relocatable, 16 KiB payload. */
  static byte[] bzImage() {
    byte[] b = new byte[BZ_PAYLOAD_OFFSET + BZ_PAYLOAD_BYTES];
    ByteBuffer h = le(b);
    b[0x1f1] = BZ_SETUP_SECTS;
    h.putInt(0x1f4, BZ_PAYLOAD_BYTES / 16); // syssize
    h.putShort(0x1fe, (short) 0xaa55);
    b[0x200] = (byte) 0xeb; // jmp short
    b[0x201] = 0x6a; // header ends at 0x202 + 0x6a = 0x26c
    h.putInt(0x202, 0x5372_6448); // "HdrS"
    h.putShort(0x206, (short) 0x020f);
    b[0x211] = 1; // LOADED_HIGH
    h.putInt(0x22c, 0x7fff_ffff); // initrd_addr_max
    h.putInt(0x230, 0x20_0000); // kernel_alignment
    b[0x234] = 1; // relocatable
    b[0x235] = 21; // min_alignment
    h.putShort(0x236, (short) 0x3); // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    h.putInt(0x238, 2047); // cmdline_size
    h.putLong(0x258, BZ_PREF_ADDRESS);
    h.putInt(0x260, (int) BZ_INIT_SIZE);
    b[0x26c] = 0x55; // beyond the header: must not reach the zero page
    for (int i = 0; i < BZ_PAYLOAD_BYTES; i++) {
      b[BZ_PAYLOAD_OFFSET + i] = (byte) (i * 3 + 5);
    }
    return b;
  }

  static Path write(Path dir, String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }

  /** Whether every byte of guest RAM is zero. */
  static boolean allZero(GuestMemory memory) {
    byte[] zero = new byte[1 << 20];
    byte[] chunk = new byte[1 << 20];
    for (GuestRegion r : memory.regions()) {
      for (long at = r.guestBase(); at < r.guestEnd(); at += chunk.length) {
        int n = (int) Math.min(chunk.length, r.guestEnd() - at);
        memory.read(at, chunk, 0, n);
        if (Arrays.mismatch(chunk, 0, n, zero, 0, n) >= 0) {
          return false;
        }
      }
    }
    return true;
  }
}

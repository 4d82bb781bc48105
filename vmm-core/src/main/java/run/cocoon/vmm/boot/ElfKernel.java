package run.cocoon.vmm.boot;

import static run.cocoon.vmm.boot.Bytes.hex;
import static run.cocoon.vmm.boot.Bytes.u16;
import static run.cocoon.vmm.boot.Bytes.u32;
import static run.cocoon.vmm.boot.Bytes.u64;
import static run.cocoon.vmm.boot.Bytes.u8;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * An uncompressed x86_64 {@code vmlinux} ELF: PT_LOAD segments are placed at their physical
 * addresses ({@code p_paddr}); the PVH entry comes from the {@code XEN_ELFNOTE_PHYS32_ENTRY} note,
 * the 64-bit entry from {@code e_entry} (which the kernel's linker script sets to the physical
 * address of {@code startup_64}).
 */
public final class ElfKernel implements KernelImage {

  /** One PT_LOAD segment: file bytes [fileOffset, fileOffset + fileSize) go to paddr. */
  public record Segment(long paddr, long fileOffset, long fileSize, long memSize) {
    long end() {
      return paddr + memSize;
    }
  }

  static final int EHDR_BYTES = 64;
  static final int PHDR_BYTES = 56;
  static final int ELFCLASS64 = 2;
  static final int ELFDATA2LSB = 1;
  static final int EM_X86_64 = 62;
  static final int ET_EXEC = 2;
  static final int PT_LOAD = 1;
  static final int PT_NOTE = 4;
  /** Xen's note type for the 32-bit PVH entry point, under the note name "Xen". */
  static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

  private final byte[] image;
  private final List<Segment> segments;
  private final OptionalLong entry64;
  private final OptionalLong pvhEntry;

  private ElfKernel(byte[] image, List<Segment> segments, OptionalLong entry64,
      OptionalLong pvhEntry) {
    this.image = image;
    this.segments = List.copyOf(segments);
    this.entry64 = entry64;
    this.pvhEntry = pvhEntry;
  }

  /** The PT_LOAD segments, in program header order. */
  public List<Segment> segments() {
    return segments;
  }

  @Override
  public OptionalLong entry64() {
    return entry64;
  }

  @Override
  public OptionalLong pvhEntry() {
    return pvhEntry;
  }

  static boolean looksLikeElf(byte[] b) {
    return b.length >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
  }

  static ElfKernel parse(byte[] b, long lowRamEnd) throws BootException {
    if (b.length < EHDR_BYTES) {
      throw malformed("ELF file is " + b.length + " bytes, shorter than its 64-byte header");
    }
    if (u8(b, 4) != ELFCLASS64) {
      throw new BootException.UnsupportedKernel("ELF class " + u8(b, 4)
          + " is not ELFCLASS64; build an x86_64 kernel");
    }
    if (u8(b, 5) != ELFDATA2LSB) {
      throw new BootException.UnsupportedKernel("ELF is not little-endian");
    }
    if (u16(b, 18) != EM_X86_64) {
      throw new BootException.UnsupportedKernel("ELF machine " + u16(b, 18)
          + " is not EM_X86_64 (62); build the kernel with ARCH=x86_64");
    }
    if (u16(b, 16) != ET_EXEC) {
      throw new BootException.UnsupportedKernel("ELF type " + u16(b, 16)
          + " is not ET_EXEC; pass the vmlinux from the top of the kernel build tree");
    }
    long entry = u64(b, 24);
    long phoff = u64(b, 32);
    int phentsize = u16(b, 54);
    int phnum = u16(b, 56);
    if (phentsize != PHDR_BYTES) {
      throw malformed("program header size " + phentsize + " is not " + PHDR_BYTES);
    }
    if (phnum == 0 || phnum > BootLimits.ELF_MAX_PROGRAM_HEADERS) {
      throw malformed(phnum + " program headers (expected 1.."
          + BootLimits.ELF_MAX_PROGRAM_HEADERS + ")");
    }
    checkInFile(b, phoff, (long) phnum * PHDR_BYTES, "program header table");

    List<Segment> loads = new ArrayList<>();
    OptionalLong pvh = OptionalLong.empty();
    for (int i = 0; i < phnum; i++) {
      int ph = (int) (phoff + (long) i * PHDR_BYTES);
      long type = u32(b, ph);
      long offset = u64(b, ph + 8);
      long paddr = u64(b, ph + 24);
      long filesz = u64(b, ph + 32);
      long memsz = u64(b, ph + 40);
      if (type == PT_LOAD) {
        loads.add(checkLoad(b, i, paddr, offset, filesz, memsz, lowRamEnd));
      } else if (type == PT_NOTE) {
        checkInFile(b, offset, filesz, "PT_NOTE segment " + i);
        OptionalLong found = findPvhNote(b, (int) offset, (int) filesz);
        if (found.isPresent()) {
          pvh = found;
        }
      }
    }
    if (loads.isEmpty()) {
      throw malformed("no PT_LOAD segment");
    }
    if (pvh.isPresent() && !insideSegment(loads, pvh.getAsLong())) {
      throw malformed("PVH entry " + hex(pvh.getAsLong()) + " lies outside every PT_LOAD segment");
    }
    // e_entry is physical for x86_64 vmlinux; an image whose e_entry is not inside a loaded
    // segment simply has no usable 64-bit entry (it may still boot through PVH).
    OptionalLong entry64 = insideSegment(loads, entry) ? OptionalLong.of(entry) : OptionalLong.empty();
    return new ElfKernel(b, loads, entry64, pvh);
  }

  private static Segment checkLoad(byte[] b, int index, long paddr, long offset, long filesz,
      long memsz, long lowRamEnd) throws BootException {
    String what = "PT_LOAD segment " + index;
    if (Long.compareUnsigned(filesz, memsz) > 0) {
      throw malformed(what + " has p_filesz " + filesz + " > p_memsz " + memsz);
    }
    checkInFile(b, offset, filesz, what);
    long end = paddr + memsz;
    if (Long.compareUnsigned(end, paddr) < 0) {
      throw malformed(what + " at " + hex(paddr) + " with p_memsz " + hex(memsz) + " wraps");
    }
    if (Long.compareUnsigned(paddr, Layout.KERNEL_LOAD_ADDRESS) < 0) {
      throw new BootException.KernelDoesNotFit(what + " at " + hex(paddr)
          + " is below " + hex(Layout.KERNEL_LOAD_ADDRESS) + ", where the boot structures live");
    }
    if (Long.compareUnsigned(paddr, Layout.MMIO_HOLE_START) >= 0
        && Long.compareUnsigned(paddr, Layout.FOUR_GIB) < 0) {
      throw new BootException.KernelDoesNotFit(what + " at " + hex(paddr)
          + " lies in the MMIO hole " + hex(Layout.MMIO_HOLE_START) + ".." + hex(Layout.FOUR_GIB));
    }
    long limit = Math.min(lowRamEnd, BootLimits.IDENTITY_MAPPED_BYTES);
    if (Long.compareUnsigned(end, limit) > 0) {
      throw new BootException.KernelDoesNotFit(what + " [" + hex(paddr) + ", " + hex(end)
          + ") does not fit below " + hex(limit) + " (guest RAM below the MMIO hole, capped by"
          + " the 1 GiB boot identity map); give the VM more memory");
    }
    return new Segment(paddr, offset, filesz, memsz);
  }

  /** Walks the notes in [start, start + length) and returns the PVH entry, if any. */
  private static OptionalLong findPvhNote(byte[] b, int start, int length) throws BootException {
    long pos = start;
    long end = (long) start + length;
    for (int n = 0; n < BootLimits.ELF_MAX_NOTES && end - pos >= 12; n++) {
      long namesz = u32(b, (int) pos);
      long descsz = u32(b, (int) pos + 4);
      long type = u32(b, (int) pos + 8);
      long name = pos + 12;
      long desc = name + Bytes.alignUp(namesz, 4);
      long next = desc + Bytes.alignUp(descsz, 4);
      if (next > end) {
        throw malformed("ELF note at file offset " + hex(pos) + " runs past its PT_NOTE segment");
      }
      if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && b[(int) name] == 'X'
          && b[(int) name + 1] == 'e' && b[(int) name + 2] == 'n' && b[(int) name + 3] == 0) {
        long value;
        if (descsz == 4) {
          value = u32(b, (int) desc);
        } else if (descsz == 8) {
          value = u64(b, (int) desc);
        } else {
          throw malformed("XEN_ELFNOTE_PHYS32_ENTRY has a " + descsz + "-byte value");
        }
        if (Long.compareUnsigned(value, Layout.FOUR_GIB) >= 0) {
          throw malformed("PVH entry " + hex(value) + " is not a 32-bit address");
        }
        return OptionalLong.of(value);
      }
      pos = next;
    }
    return OptionalLong.empty();
  }

  private static boolean insideSegment(List<Segment> loads, long address) {
    return loads.stream().anyMatch(s -> Long.compareUnsigned(address, s.paddr()) >= 0
        && Long.compareUnsigned(address, s.end()) < 0);
  }

  /** Checks that [offset, offset + length) lies inside the file, without overflow. */
  static void checkInFile(byte[] b, long offset, long length, String what) throws BootException {
    if (Long.compareUnsigned(offset, b.length) > 0
        || Long.compareUnsigned(length, b.length - offset) > 0) {
      throw malformed(what + " (offset " + hex(offset) + ", " + Long.toUnsignedString(length)
          + " bytes) runs past the end of the " + b.length + "-byte file");
    }
  }

  private static BootException.MalformedKernel malformed(String message) {
    return new BootException.MalformedKernel(message);
  }

  @Override
  public long loadAddress() {
    return segments.stream().mapToLong(Segment::paddr).min().orElseThrow();
  }

  @Override
  public long footprintEnd() {
    return segments.stream().mapToLong(Segment::end).max().orElseThrow();
  }

  @Override
  public long cmdlineMaxChars() {
    return BootLimits.CMDLINE_MAX_CHARS;
  }

  @Override
  public long initrdAddressMax() {
    // Both the PVH module list and the synthesized setup header carry 32-bit initrd addresses
    // as far as the kernel's own parsing goes; keep the initrd below 4 GiB.
    return Layout.FOUR_GIB - 1;
  }

  @Override
  public void writeTo(GuestMemory memory) {
    for (Segment s : segments) {
      memory.write(s.paddr(), image, (int) s.fileOffset(), (int) s.fileSize());
      long bss = s.memSize() - s.fileSize();
      if (bss > 0) {
        memory.fill(s.paddr() + s.fileSize(), bss, (byte) 0);
      }
    }
  }

  @Override
  public String describe() {
    return "ELF vmlinux, " + segments.size() + " PT_LOAD segments at [" + hex(loadAddress())
        + ", " + hex(footprintEnd()) + "), 64-bit entry "
        + (entry64.isPresent() ? hex(entry64.getAsLong()) : "none")
        + ", PVH entry " + (pvhEntry.isPresent() ? hex(pvhEntry.getAsLong()) : "none");
  }
}

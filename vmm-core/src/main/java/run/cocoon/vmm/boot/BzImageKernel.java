package run.cocoon.vmm.boot;

import static run.cocoon.vmm.boot.Bytes.hex;
import static run.cocoon.vmm.boot.Bytes.u16;
import static run.cocoon.vmm.boot.Bytes.u32;
import static run.cocoon.vmm.boot.Bytes.u64;
import static run.cocoon.vmm.boot.Bytes.u8;

import java.util.Arrays;
import java.util.OptionalLong;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * A bzImage booted through the Linux 64-bit boot protocol (Documentation/x86/boot.rst): the
 * protected-mode part goes to 1 MiB, the setup header is copied into the zero page, and the
 * vCPU starts at {@code startup_64}, 0x200 bytes into the loaded image. The real-mode setup code
 * is never run.
 */
public final class BzImageKernel implements KernelImage {

  /** Offset of the setup header in the file and in the zero page. */
  static final int SETUP_HEADER_OFFSET = 0x1f1;
  /** Offset of the one-byte jump whose target marks the end of the setup header. */
  static final int SETUP_HEADER_JUMP_OFFSET = 0x201;
  /** The header area of {@code struct boot_params} ends where edd_mbr_sig_buffer begins. */
  static final int SETUP_HEADER_AREA_END = 0x290;
  /** The file must reach past kernel_info_offset (0x268) for every field we read. */
  static final int MIN_FILE_BYTES = 0x26c;
  /** "HdrS" read as a little-endian u32 at 0x202. */
  static final long HDRS_MAGIC = 0x5372_6448L;
  static final int BOOT_FLAG = 0xaa55;
  /** Boot protocol 2.12: the first with xloadflags and the 64-bit entry we use. */
  static final int MIN_PROTOCOL = 0x020c;
  static final int LOADED_HIGH = 1;
  static final int XLF_KERNEL_64 = 1;
  /** The 64-bit entry is this far into the protected-mode image. */
  static final long STARTUP_64_OFFSET = 0x200;
  static final int SECTOR_BYTES = 512;

  private final byte[] image;
  private final SetupHeader header;
  private final int payloadOffset;
  private final long payloadBytes;
  private final long footprintEnd;

  private BzImageKernel(byte[] image, SetupHeader header, int payloadOffset, long payloadBytes,
      long footprintEnd) {
    this.image = image;
    this.header = header;
    this.payloadOffset = payloadOffset;
    this.payloadBytes = payloadBytes;
    this.footprintEnd = footprintEnd;
  }

  /** The setup header as parsed (setup_sects already defaulted from 0 to 4). */
  public SetupHeader header() {
    return header;
  }

  @Override
  public long footprintEnd() {
    return footprintEnd;
  }

  /** The setup header fields we act on. */
  public record SetupHeader(int setupSects, long syssize, int version, int loadflags,
      int xloadflags, long initrdAddrMax, long kernelAlignment, boolean relocatable,
      long cmdlineSize, long prefAddress, long initSize) {
    /** "2.15" style. */
    public String protocol() {
      return (version >> 8) + "." + (version & 0xff);
    }
  }

  static boolean looksLikeBzImage(byte[] b) {
    return b.length >= 0x206 && u32(b, 0x202) == HDRS_MAGIC;
  }

  static BzImageKernel parse(byte[] b, long lowRamEnd) throws BootException {
    if (b.length < MIN_FILE_BYTES) {
      throw malformed("bzImage is " + b.length + " bytes, too short for a setup header");
    }
    if (u16(b, 0x1fe) != BOOT_FLAG) {
      throw malformed("boot_flag at 0x1fe is " + hex(u16(b, 0x1fe)) + ", not 0xaa55");
    }
    int sects = u8(b, 0x1f1);
    SetupHeader h = new SetupHeader(sects == 0 ? 4 : sects, u32(b, 0x1f4), u16(b, 0x206),
        u8(b, 0x211), u16(b, 0x236), u32(b, 0x22c), u32(b, 0x230), u8(b, 0x234) != 0,
        u32(b, 0x238), u64(b, 0x258), u32(b, 0x260));
    if (h.version() < MIN_PROTOCOL) {
      throw new BootException.UnsupportedKernel("boot protocol " + h.protocol()
          + " is older than 2.12; use a kernel from Linux 3.8 or later");
    }
    if ((h.loadflags() & LOADED_HIGH) == 0) {
      throw new BootException.UnsupportedKernel("loadflags lack LOADED_HIGH: a zImage, not a"
          + " bzImage");
    }
    if ((h.xloadflags() & XLF_KERNEL_64) == 0) {
      throw new BootException.UnsupportedKernel("xloadflags lack XLF_KERNEL_64: the kernel has"
          + " no 64-bit entry; build it with CONFIG_64BIT");
    }
    int payloadOffset = (h.setupSects() + 1) * SECTOR_BYTES;
    if (payloadOffset >= b.length) {
      throw malformed("setup_sects " + h.setupSects() + " puts the kernel at file offset "
          + hex(payloadOffset) + ", past the end of the " + b.length + "-byte file");
    }
    long payloadBytes = b.length - payloadOffset;
    // syssize counts the protected-mode part in 16-byte paragraphs; the file may be padded
    // beyond it, never shorter.
    long declared = h.syssize() * 16;
    if (h.syssize() == 0 || declared > payloadBytes) {
      throw malformed("syssize " + h.syssize() + " (x16 bytes) does not match the "
          + payloadBytes + " bytes after the setup sectors");
    }
    payloadBytes = declared;
    if (h.relocatable() && Long.bitCount(h.kernelAlignment()) != 1) {
      throw malformed("kernel_alignment " + hex(h.kernelAlignment()) + " is not a power of two");
    }
    if (h.initSize() == 0) {
      throw malformed("init_size is zero");
    }
    long footprintEnd = footprintEnd(h, payloadBytes);
    long limit = Math.min(lowRamEnd, BootLimits.IDENTITY_MAPPED_BYTES);
    if (footprintEnd > limit) {
      throw new BootException.KernelDoesNotFit("the bzImage needs memory up to "
          + hex(footprintEnd) + " (protected-mode image " + payloadBytes + " bytes at "
          + hex(Layout.KERNEL_LOAD_ADDRESS) + ", init_size " + hex(h.initSize())
          + " from its run address) but RAM usable for it ends at " + hex(limit)
          + "; give the VM more memory");
    }
    return new BzImageKernel(b, h, payloadOffset, payloadBytes, footprintEnd);
  }

  /**
   * Where the kernel's start-up footprint ends. We load at 1 MiB; a relocatable kernel runs from
   * that address rounded up to kernel_alignment but never below its compiled-in pref_address
   * (LOAD_PHYSICAL_ADDR), a non-relocatable one from pref_address; from there it needs
   * init_size bytes to decompress and start.
   */
  static long footprintEnd(SetupHeader h, long payloadBytes) {
    long load = Layout.KERNEL_LOAD_ADDRESS;
    long prefAddress = h.prefAddress() == 0 ? load : h.prefAddress();
    if (Long.compareUnsigned(prefAddress, Layout.MAX_RAM_BYTES) > 0
        || h.kernelAlignment() > Layout.MAX_RAM_BYTES) {
      return Long.MAX_VALUE; // pref_address is a u64: beyond any guest, so it cannot fit
    }
    long runAddress = h.relocatable()
        ? Math.max(Bytes.alignUp(load, h.kernelAlignment()), prefAddress) : prefAddress;
    return Math.max(runAddress + h.initSize(), load + payloadBytes);
  }

  private static BootException.MalformedKernel malformed(String message) {
    return new BootException.MalformedKernel(message);
  }

  /** The setup header bytes as the kernel defines their extent, for the zero page. */
  byte[] setupHeaderBytes() {
    int end = Math.min(0x202 + u8(image, SETUP_HEADER_JUMP_OFFSET), SETUP_HEADER_AREA_END);
    return Arrays.copyOfRange(image, SETUP_HEADER_OFFSET, Math.min(end, image.length));
  }

  @Override
  public long loadAddress() {
    return Layout.KERNEL_LOAD_ADDRESS;
  }

  @Override
  public OptionalLong entry64() {
    return OptionalLong.of(Layout.KERNEL_LOAD_ADDRESS + STARTUP_64_OFFSET);
  }

  @Override
  public OptionalLong pvhEntry() {
    return OptionalLong.empty();
  }

  @Override
  public long cmdlineMaxChars() {
    return Math.min(header.cmdlineSize(), BootLimits.CMDLINE_MAX_CHARS);
  }

  @Override
  public long initrdAddressMax() {
    return header.initrdAddrMax();
  }

  @Override
  public void writeTo(GuestMemory memory) {
    memory.write(Layout.KERNEL_LOAD_ADDRESS, image, payloadOffset, (int) payloadBytes);
  }

  @Override
  public String describe() {
    return "bzImage, boot protocol " + header.protocol() + ", " + payloadBytes
        + " bytes at " + hex(Layout.KERNEL_LOAD_ADDRESS) + ", footprint to " + hex(footprintEnd)
        + " (init_size " + hex(header.initSize()) + "), 64-bit entry "
        + hex(entry64().getAsLong());
  }
}

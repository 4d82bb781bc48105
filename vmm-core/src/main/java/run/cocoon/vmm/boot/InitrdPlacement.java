package run.cocoon.vmm.boot;

import static run.cocoon.vmm.boot.Bytes.hex;

/**
 * Where the initrd goes: page-aligned, as high as possible below the end of low RAM and below
 * the highest address the kernel accepts, and above the kernel's start-up footprint. High
 * placement keeps the space right above the kernel free for its decompression and early
 * allocations.
 */
public record InitrdPlacement(long address, long size) {
  static final long PAGE_BYTES = 4096;

  /**
   * Places {@code size} bytes.
   *
   * @param lowRamEnd end of RAM below the MMIO hole
   * @param addressMax highest address (inclusive) the initrd may occupy
   * @param kernelEnd first address after the kernel's footprint
   */
  public static InitrdPlacement place(long size, long lowRamEnd, long addressMax, long kernelEnd)
      throws BootException {
    if (size <= 0) {
      throw new BootException.InitrdDoesNotFit("the initrd is empty");
    }
    long ceiling = Math.min(lowRamEnd, addressMax == Long.MAX_VALUE ? addressMax : addressMax + 1);
    long floor = Bytes.alignUp(kernelEnd, PAGE_BYTES);
    if (size > ceiling - floor || ceiling <= floor) {
      throw new BootException.InitrdDoesNotFit("the initrd (" + size + " bytes) does not fit"
          + " between the kernel's end " + hex(floor) + " and " + hex(ceiling)
          + " (end of low RAM or the kernel's initrd_addr_max); give the VM more memory or use"
          + " a smaller initrd");
    }
    long address = Bytes.alignDown(ceiling - size, PAGE_BYTES);
    return new InitrdPlacement(address, size);
  }

  /** First address after the initrd. */
  public long end() {
    return address + size;
  }
}

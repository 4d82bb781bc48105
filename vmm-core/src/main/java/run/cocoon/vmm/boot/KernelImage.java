package run.cocoon.vmm.boot;

import java.util.OptionalLong;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * A parsed and fully validated kernel image: every address it will write is checked against the
 * guest's RAM before {@link #writeTo} is called, so writing cannot fail on a well-sized memory.
 */
public sealed interface KernelImage permits ElfKernel, BzImageKernel {

  /** First guest-physical address the kernel occupies. */
  long loadAddress();

  /**
   * First address after everything the kernel needs while it starts: its segments and bss, or for
   * a bzImage the decompression footprint ({@code init_size}). The initrd goes above this.
   */
  long footprintEnd();

  /** Entry point of the Linux 64-bit boot protocol (RSI = zero page), if the image has one. */
  OptionalLong entry64();

  /** Entry point of the PVH boot protocol (32-bit, EBX = start_info), if the image has one. */
  OptionalLong pvhEntry();

  /** Longest command line the kernel accepts, without the terminating NUL. */
  long cmdlineMaxChars();

  /** Highest address (inclusive) the initrd may occupy. */
  long initrdAddressMax();

  /** Copies the kernel into guest memory (and zeroes its bss). */
  void writeTo(GuestMemory memory);

  /** One line for logs: the format, entry points and footprint. */
  String describe();

  /**
   * Parses {@code image}, an ELF vmlinux or a bzImage, for a guest whose RAM below the MMIO hole
   * ends at {@code lowRamEnd}.
   */
  static KernelImage parse(byte[] image, long lowRamEnd) throws BootException {
    if (ElfKernel.looksLikeElf(image)) {
      return ElfKernel.parse(image, lowRamEnd);
    }
    if (BzImageKernel.looksLikeBzImage(image)) {
      return BzImageKernel.parse(image, lowRamEnd);
    }
    throw new BootException.MalformedKernel("neither an ELF vmlinux (no \\x7fELF magic) nor a"
        + " bzImage (no \"HdrS\" at offset 0x202); pass vmlinux or arch/x86/boot/bzImage");
  }
}

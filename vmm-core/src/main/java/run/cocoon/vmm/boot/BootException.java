package run.cocoon.vmm.boot;

/**
 * A kernel, initrd, command line or VM shape that cannot be booted. Every check runs before the
 * first byte is written to guest memory and long before any vCPU runs, so a caller that catches
 * this has nothing to undo. Messages name the input and say what to change.
 */
public abstract sealed class BootException extends Exception
    permits BootException.Unreadable, BootException.MalformedKernel,
        BootException.UnsupportedKernel, BootException.KernelDoesNotFit,
        BootException.NoPvhEntry, BootException.InitrdDoesNotFit,
        BootException.InvalidCommandLine, BootException.InvalidMachine {
  private static final long serialVersionUID = 1L;

  private BootException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A file could not be read, or is larger than we accept for its role. */
  public static final class Unreadable extends BootException {
    private static final long serialVersionUID = 1L;

    Unreadable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The kernel image is structurally broken: bad magic, offsets past the file, sizes that wrap. */
  public static final class MalformedKernel extends BootException {
    private static final long serialVersionUID = 1L;

    MalformedKernel(String message) {
      super("malformed kernel image: " + message, null);
    }
  }

  /** A well-formed image we do not boot: wrong architecture, old boot protocol, 32-bit only. */
  public static final class UnsupportedKernel extends BootException {
    private static final long serialVersionUID = 1L;

    UnsupportedKernel(String message) {
      super("unsupported kernel image: " + message, null);
    }
  }

  /** The kernel (with its bss or decompression footprint) does not fit the guest's RAM. */
  public static final class KernelDoesNotFit extends BootException {
    private static final long serialVersionUID = 1L;

    KernelDoesNotFit(String message) {
      super(message, null);
    }
  }

  /** PVH entry was requested but the ELF image carries no XEN_ELFNOTE_PHYS32_ENTRY note. */
  public static final class NoPvhEntry extends BootException {
    private static final long serialVersionUID = 1L;

    NoPvhEntry(String message) {
      super(message, null);
    }
  }

  /** The initrd does not fit between the kernel and the highest address the kernel accepts. */
  public static final class InitrdDoesNotFit extends BootException {
    private static final long serialVersionUID = 1L;

    InitrdDoesNotFit(String message) {
      super(message, null);
    }
  }

  /** The command line is too long or contains bytes the kernel would misread. */
  public static final class InvalidCommandLine extends BootException {
    private static final long serialVersionUID = 1L;

    InvalidCommandLine(String message) {
      super("invalid kernel command line: " + message, null);
    }
  }

  /** The VM shape cannot be described to the guest: vCPU count, RAM size, device list. */
  public static final class InvalidMachine extends BootException {
    private static final long serialVersionUID = 1L;

    InvalidMachine(String message) {
      super(message, null);
    }
  }
}

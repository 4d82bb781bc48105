package run.cocoon.vmm.memory;

/**
 * A guest-physical access that cannot be served. Guests control the addresses devices are asked
 * to touch, so these are expected failures: callers turn them into device errors, never into
 * host accesses.
 */
public sealed class GuestMemoryException extends RuntimeException
    permits GuestMemoryException.OutOfRange, GuestMemoryException.SpansRegions,
        GuestMemoryException.Overflow {
  private static final long serialVersionUID = 1L;

  private GuestMemoryException(String message) {
    super(message);
  }

  /** No RAM at (part of) the range: beyond the end, or in a hole. */
  public static final class OutOfRange extends GuestMemoryException {
    private static final long serialVersionUID = 1L;

    OutOfRange(long address, long length) {
      super("guest range 0x" + Long.toHexString(address) + "+" + length + " is not RAM");
    }
  }

  /** The range is RAM but crosses from one region into another (not contiguous on the host). */
  public static final class SpansRegions extends GuestMemoryException {
    private static final long serialVersionUID = 1L;

    SpansRegions(long address, long length) {
      super("guest range 0x" + Long.toHexString(address) + "+" + length + " spans two memory regions");
    }
  }

  /** address + length wraps around 2^64, or a length is negative. */
  public static final class Overflow extends GuestMemoryException {
    private static final long serialVersionUID = 1L;

    Overflow(long address, long length) {
      super("guest range 0x" + Long.toHexString(address) + "+" + length + " overflows");
    }
  }
}

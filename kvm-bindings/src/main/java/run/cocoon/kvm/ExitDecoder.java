package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/**
 * Decodes {@code struct kvm_run} into a {@link VmExit}. A pure function of the mapping's bytes, so
 * it is tested with synthetic exits, without KVM.
 */
public final class ExitDecoder {
  public static final int KVM_EXIT_UNKNOWN = 0;
  public static final int KVM_EXIT_IO = 2;
  public static final int KVM_EXIT_HLT = 5;
  public static final int KVM_EXIT_MMIO = 6;
  public static final int KVM_EXIT_SHUTDOWN = 8;
  public static final int KVM_EXIT_FAIL_ENTRY = 9;
  public static final int KVM_EXIT_INTR = 10;
  public static final int KVM_EXIT_INTERNAL_ERROR = 17;
  public static final int KVM_EXIT_SYSTEM_EVENT = 24;

  /** Upper bound on {@code ndata} of the internal-error and system-event payloads. */
  private static final int EXIT_DATA_WORDS = 16;

  static final long EXIT_REASON = Layouts.offset(Layouts.KVM_RUN, "exit_reason");
  static final long IMMEDIATE_EXIT = Layouts.offset(Layouts.KVM_RUN, "immediate_exit");
  private static final long EXIT = Layouts.offset(Layouts.KVM_RUN, "exit");
  private static final long IO_DIRECTION = EXIT;
  private static final long IO_SIZE = EXIT + 1;
  private static final long IO_PORT = EXIT + 2;
  private static final long IO_COUNT = EXIT + 4;
  private static final long IO_DATA_OFFSET = EXIT + 8;
  private static final long MMIO_ADDRESS = EXIT;
  private static final long MMIO_DATA = EXIT + 8;
  private static final long MMIO_LEN = EXIT + 16;
  private static final long MMIO_IS_WRITE = EXIT + 20;
  private static final int MMIO_DATA_BYTES = 8;
  private static final long EVENT_TYPE = EXIT;
  private static final long EVENT_NDATA = EXIT + 4;
  private static final long EVENT_DATA = EXIT + 8;

  private ExitDecoder() {}

  /** Decodes the exit held in {@code run}, the whole mmapped {@code kvm_run} area. */
  public static VmExit decode(MemorySegment run) {
    int reason = run.get(JAVA_INT, EXIT_REASON);
    return switch (reason) {
      case KVM_EXIT_IO -> io(run);
      case KVM_EXIT_MMIO -> mmio(run);
      case KVM_EXIT_HLT -> new VmExit.Hlt();
      case KVM_EXIT_SHUTDOWN -> new VmExit.Shutdown();
      case KVM_EXIT_FAIL_ENTRY -> new VmExit.FailEntry(run.get(JAVA_LONG, EXIT), run.get(JAVA_INT, EXIT + 8));
      case KVM_EXIT_INTR -> new VmExit.Interrupted();
      case KVM_EXIT_INTERNAL_ERROR -> new VmExit.InternalError(run.get(JAVA_INT, EVENT_TYPE), words(run));
      case KVM_EXIT_SYSTEM_EVENT -> new VmExit.SystemEvent(run.get(JAVA_INT, EVENT_TYPE), words(run));
      default -> new VmExit.Unknown(reason,
          "hardware exit reason 0x" + Long.toHexString(run.get(JAVA_LONG, EXIT)));
    };
  }

  private static VmExit io(MemorySegment run) {
    int size = Byte.toUnsignedInt(run.get(JAVA_BYTE, IO_SIZE));
    int count = run.get(JAVA_INT, IO_COUNT);
    long offset = run.get(JAVA_LONG, IO_DATA_OFFSET);
    long length = (long) size * Integer.toUnsignedLong(count);
    // The kernel places the data inside the mapping; check anyway, a bad offset must not become
    // an out-of-bounds access.
    if (size == 0 || size > 4 || count <= 0 || offset < Layouts.KVM_RUN.byteSize()
        || offset > run.byteSize() || length > run.byteSize() - offset) {
      return new VmExit.Unknown(KVM_EXIT_IO, "I/O data out of the kvm_run mapping: offset "
          + offset + ", size " + size + ", count " + Integer.toUnsignedString(count));
    }
    return new VmExit.Io(run.get(JAVA_BYTE, IO_DIRECTION) == 1, size,
        Short.toUnsignedInt(run.get(JAVA_SHORT, IO_PORT)), count, run.asSlice(offset, length));
  }

  private static VmExit mmio(MemorySegment run) {
    int len = run.get(JAVA_INT, MMIO_LEN);
    if (len <= 0 || len > MMIO_DATA_BYTES) {
      return new VmExit.Unknown(KVM_EXIT_MMIO, "MMIO length " + len);
    }
    return new VmExit.Mmio(run.get(JAVA_LONG, MMIO_ADDRESS), len,
        run.get(JAVA_BYTE, MMIO_IS_WRITE) != 0, run.asSlice(MMIO_DATA, len));
  }

  private static long[] words(MemorySegment run) {
    int n = Math.min(Math.max(run.get(JAVA_INT, EVENT_NDATA), 0), EXIT_DATA_WORDS);
    return run.asSlice(EVENT_DATA, 8L * n).toArray(JAVA_LONG);
  }
}

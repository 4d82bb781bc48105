package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Why {@code KVM_RUN} returned, decoded from the mmapped {@code kvm_run}. The data segments of
 * {@link Io} and {@link Mmio} are views into that mapping: valid until the vCPU runs again, and the
 * place where the VMM writes the value of an IN or an MMIO read.
 */
public sealed interface VmExit {

  /** Port I/O ({@code KVM_EXIT_IO}). {@code data} holds {@code size * count} bytes. */
  record Io(boolean isOut, int size, int port, int count, MemorySegment data) implements VmExit {
    /** The value of a single (count 1) access, little-endian, zero-extended. */
    public long value() {
      return littleEndian(data, size);
    }

    /** Sets the value the guest reads for a single IN access. */
    public void setValue(long value) {
      setLittleEndian(data, size, value);
    }
  }

  /** Memory-mapped I/O outside any memory slot ({@code KVM_EXIT_MMIO}). */
  record Mmio(long address, int length, boolean isWrite, MemorySegment data) implements VmExit {
    /** The value written by the guest, little-endian, zero-extended. */
    public long value() {
      return littleEndian(data, length);
    }

    /** Sets the value the guest reads. */
    public void setValue(long value) {
      setLittleEndian(data, length, value);
    }
  }

  /** The guest executed HLT and the in-kernel APIC is not handling it ({@code KVM_EXIT_HLT}). */
  record Hlt() implements VmExit {}

  /** Triple fault or similar: the guest cannot continue ({@code KVM_EXIT_SHUTDOWN}). */
  record Shutdown() implements VmExit {}

  /** The hardware refused to enter the guest ({@code KVM_EXIT_FAIL_ENTRY}). */
  record FailEntry(long hardwareReason, int cpu) implements VmExit {}

  /** KVM could not handle something, e.g. an instruction it cannot emulate. */
  record InternalError(int suberror, long[] data) implements VmExit {
    public InternalError {
      data = data.clone();
    }

    @Override
    public long[] data() {
      return data.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof InternalError e && suberror == e.suberror && Arrays.equals(data, e.data);
    }

    @Override
    public int hashCode() {
      return 31 * suberror + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
      return "InternalError[suberror=" + suberror + ", data=" + Arrays.toString(data) + "]";
    }
  }

  /** A platform event such as a PSCI/ACPI shutdown, reset or crash ({@code KVM_EXIT_SYSTEM_EVENT}). */
  record SystemEvent(int type, long[] data) implements VmExit {
    public static final int SHUTDOWN = 1;
    public static final int RESET = 2;
    public static final int CRASH = 3;

    public SystemEvent {
      data = data.clone();
    }

    @Override
    public long[] data() {
      return data.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SystemEvent e && type == e.type && Arrays.equals(data, e.data);
    }

    @Override
    public int hashCode() {
      return 31 * type + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
      return "SystemEvent[type=" + type + ", data=" + Arrays.toString(data) + "]";
    }
  }

  /** KVM_RUN was interrupted by a signal or {@code immediate_exit} ({@code KVM_EXIT_INTR}/EINTR). */
  record Interrupted() implements VmExit {}

  /** Any other exit reason; {@code detail} is the hardware exit reason or a decoding problem. */
  record Unknown(int reason, String detail) implements VmExit {}

  private static long littleEndian(MemorySegment data, int size) {
    long v = 0;
    for (int i = Math.min(size, 8) - 1; i >= 0; i--) {
      v = v << 8 | Byte.toUnsignedLong(data.get(JAVA_BYTE, i));
    }
    return v;
  }

  private static void setLittleEndian(MemorySegment data, int size, long value) {
    for (int i = 0; i < Math.min(size, 8); i++) {
      data.set(JAVA_BYTE, i, (byte) (value >>> (8 * i)));
    }
  }
}

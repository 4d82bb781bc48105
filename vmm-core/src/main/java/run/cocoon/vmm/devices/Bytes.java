package run.cocoon.vmm.devices;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.MemorySegment;

/** Little-endian values of 1-8 bytes in a segment. */
final class Bytes {
  private Bytes() {}

  static long littleEndian(MemorySegment s, int size) {
    long v = 0;
    for (int i = size - 1; i >= 0; i--) {
      v = v << 8 | Byte.toUnsignedLong(s.get(JAVA_BYTE, i));
    }
    return v;
  }

  static void setLittleEndian(MemorySegment s, int size, long value) {
    for (int i = 0; i < size; i++) {
      s.set(JAVA_BYTE, i, (byte) (value >>> (8 * i)));
    }
  }
}

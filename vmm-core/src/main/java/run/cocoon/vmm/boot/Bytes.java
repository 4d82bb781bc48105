package run.cocoon.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian helpers for the byte layouts of boot structures, with unsigned reads. */
final class Bytes {
  private Bytes() {}

  /** A zeroed little-endian buffer of {@code size} bytes. */
  static ByteBuffer buffer(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  static int u8(byte[] b, int offset) {
    return Byte.toUnsignedInt(b[offset]);
  }

  static int u16(byte[] b, int offset) {
    return u8(b, offset) | u8(b, offset + 1) << 8;
  }

  static long u32(byte[] b, int offset) {
    return Integer.toUnsignedLong(u16(b, offset) | u16(b, offset + 2) << 16);
  }

  static long u64(byte[] b, int offset) {
    return u32(b, offset) | u32(b, offset + 4) << 32;
  }

  /** The byte that makes the bytes [from, to) sum to zero modulo 256 (ACPI and MP checksums). */
  static byte checksum(byte[] b, int from, int to) {
    int sum = 0;
    for (int i = from; i < to; i++) {
      sum += b[i];
    }
    return (byte) -sum;
  }

  /** Whether [from, to) sums to zero modulo 256. */
  static boolean sumsToZero(byte[] b, int from, int to) {
    int sum = 0;
    for (int i = from; i < to; i++) {
      sum += b[i];
    }
    return (sum & 0xff) == 0;
  }

  /** {@code value} rounded up to a multiple of the power of two {@code alignment}; no overflow. */
  static long alignUp(long value, long alignment) {
    return Math.addExact(value, alignment - 1) & -alignment;
  }

  static long alignDown(long value, long alignment) {
    return value & -alignment;
  }

  static String hex(long value) {
    return "0x" + Long.toHexString(value);
  }
}

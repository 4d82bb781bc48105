package run.cocoon.vmm.virtio.fuzz;

import java.util.Arrays;
import java.util.Random;

/**
 * Typed values read front to back from fuzzer bytes; past the end every value is zero, so any
 * input, even an empty one, is a complete test case. Small ranges take one byte, so that the
 * fuzzer's byte mutations map to small, meaningful changes.
 */
final class FuzzInput {
  /**
   * The seed of the seeded random runs unless {@code -Dcocoon.fuzz.seed} names another: fixed,
   * so that the normal build tests the same inputs every time.
   */
  static final long DEFAULT_SEED = 20261206L;

  private final byte[] data;
  private int position;

  FuzzInput(byte[] data) {
    this.data = data;
  }

  /** Random bytes for the seeded property runs that complement fuzzing in the normal suite. */
  static byte[] random(Random random, int maxLength) {
    byte[] b = new byte[random.nextInt(maxLength + 1)];
    random.nextBytes(b);
    return b;
  }

  boolean hasMore() {
    return position < data.length;
  }

  int u8() {
    return position < data.length ? data[position++] & 0xff : 0;
  }

  boolean bool() {
    return (u8() & 1) != 0;
  }

  int u16() {
    return u8() | u8() << 8;
  }

  int u32() {
    return u16() | u16() << 16;
  }

  long u64() {
    return Integer.toUnsignedLong(u32()) | (long) u32() << 32;
  }

  /** A value in [lo, hi], hi - lo < 2^31. */
  int intIn(int lo, int hi) {
    long range = (long) hi - lo + 1;
    long raw = range <= 0x100 ? u8() : range <= 0x1_0000 ? u16() : Integer.toUnsignedLong(u32());
    return (int) (lo + raw % range);
  }

  /** One of {@code choices}. */
  int pick(int... choices) {
    return choices[intIn(0, choices.length - 1)];
  }

  long pick(long... choices) {
    return choices[intIn(0, choices.length - 1)];
  }

  /** The next {@code n} bytes, zero-padded past the end. */
  byte[] bytes(int n) {
    int available = Math.max(0, Math.min(n, data.length - position));
    byte[] out = Arrays.copyOf(Arrays.copyOfRange(data, position, position + available), n);
    position += available;
    return out;
  }
}

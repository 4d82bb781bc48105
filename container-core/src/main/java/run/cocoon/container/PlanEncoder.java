package run.cocoon.container;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.container.seccomp.SeccompCompiler;

/**
 * The helper's plan format: the magic {@code CSP1}, then one record per operation:
 * {@code u32 opcode, u32 nnum, u32 nstr, u64 num[nnum]}, then {@code nstr} strings each as
 * {@code u32 length, bytes, NUL}. Little endian. Strings never contain NUL.
 */
public final class PlanEncoder {
  public static final byte[] MAGIC = {'C', 'S', 'P', '1'};
  /** Most numbers in one record (the helper's MAX_RECORD_NUMS): a seccomp op's flags and program. */
  public static final int MAX_RECORD_NUMS = 1 + SeccompCompiler.MAX_INSTRUCTIONS;
  /** Most strings in one record (the helper's MAX_RECORD_STRINGS). */
  public static final int MAX_RECORD_STRINGS = 70000;

  private PlanEncoder() {}

  public static byte[] encode(List<PlanOp> ops) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    ByteBuffer word = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    for (PlanOp op : ops) {
      long[] nums = op.nums();
      List<String> strs = op.strings();
      if (nums.length > MAX_RECORD_NUMS || strs.size() > MAX_RECORD_STRINGS) {
        throw new IllegalArgumentException("plan record too large: " + op.getClass().getSimpleName());
      }
      putInt(out, word, op.opcode());
      putInt(out, word, nums.length);
      putInt(out, word, strs.size());
      for (long n : nums) {
        word.clear();
        word.putLong(n);
        out.write(word.array(), 0, 8);
      }
      for (String s : strs) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
          if (x == 0) {
            throw new IllegalArgumentException("NUL in a plan string of " + op);
          }
        }
        putInt(out, word, b.length);
        out.writeBytes(b);
        out.write(0);
      }
      if (out.size() > ContainerLimits.MAX_PLAN_BYTES) {
        throw new InvalidSpecException("plan", "larger than MAX_PLAN_BYTES ("
            + ContainerLimits.MAX_PLAN_BYTES + ")");
      }
    }
    return out.toByteArray();
  }

  private static void putInt(ByteArrayOutputStream out, ByteBuffer word, int v) {
    word.clear();
    word.putInt(v);
    out.write(word.array(), 0, 4);
  }

  /** One decoded record (for tests and diagnostics). */
  public record Decoded(int opcode, long[] nums, List<String> strings) {}

  /** Decodes a plan; the inverse of {@link #encode}, strict like the helper. */
  public static List<Decoded> decode(byte[] plan) {
    ByteBuffer b = ByteBuffer.wrap(plan).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[4];
    b.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IllegalArgumentException("bad magic");
    }
    List<Decoded> out = new ArrayList<>();
    while (b.hasRemaining()) {
      int op = b.getInt();
      int nnum = b.getInt();
      int nstr = b.getInt();
      if (nnum < 0 || nnum > MAX_RECORD_NUMS || nstr < 0 || nstr > MAX_RECORD_STRINGS) {
        throw new IllegalArgumentException("bad record counts");
      }
      long[] nums = new long[nnum];
      for (int i = 0; i < nnum; i++) {
        nums[i] = b.getLong();
      }
      List<String> strs = new ArrayList<>();
      for (int i = 0; i < nstr; i++) {
        int len = b.getInt();
        byte[] s = new byte[len];
        b.get(s);
        if (b.get() != 0) {
          throw new IllegalArgumentException("string not NUL terminated");
        }
        strs.add(new String(s, StandardCharsets.UTF_8));
      }
      out.add(new Decoded(op, nums, strs));
    }
    return out;
  }
}

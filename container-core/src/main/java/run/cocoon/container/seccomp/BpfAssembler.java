package run.cocoon.container.seccomp;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes a classic BPF program with symbolic jump targets. Conditional jumps reach at most 255
 * instructions ahead (their offsets are 8 bits), so callers use them only inside one rule and
 * reach anything further with {@link #jumpAlways} (32-bit offset).
 */
final class BpfAssembler {
  /** {@code BPF_LD | BPF_W | BPF_ABS}: A = 32-bit word at offset k of seccomp_data. */
  static final int LD_W_ABS = 0x20;
  /** {@code BPF_ALU | BPF_AND | BPF_K}: A &= k. */
  static final int ALU_AND_K = 0x54;
  /** {@code BPF_JMP | BPF_JA}. */
  static final int JMP_JA = 0x05;
  /** {@code BPF_JMP | BPF_JEQ | BPF_K}. */
  static final int JMP_JEQ_K = 0x15;
  /** {@code BPF_JMP | BPF_JGT | BPF_K} (unsigned). */
  static final int JMP_JGT_K = 0x25;
  /** {@code BPF_JMP | BPF_JGE | BPF_K} (unsigned). */
  static final int JMP_JGE_K = 0x35;
  /** {@code BPF_RET | BPF_K}. */
  static final int RET_K = 0x06;
  /** The farthest a conditional jump reaches (jt and jf are 8 bits). */
  static final int MAX_CONDITIONAL_OFFSET = 255;

  /** A jump target; bound once to the position of the next instruction emitted. */
  static final class Label {
    private int position = -1;
  }

  /** One instruction; a null label means "the next instruction" (offset 0). */
  private record Insn(int code, int k, Label jt, Label jf) {}

  private final List<Insn> insns = new ArrayList<>();

  void load(int offset) {
    insns.add(new Insn(LD_W_ABS, offset, null, null));
  }

  void and(int mask) {
    insns.add(new Insn(ALU_AND_K, mask, null, null));
  }

  /** A conditional jump: to {@code ifTrue} when A (op) k holds, else to {@code ifFalse}. */
  void jump(int code, int k, Label ifTrue, Label ifFalse) {
    insns.add(new Insn(code, k, ifTrue, ifFalse));
  }

  /** An unconditional jump, as far as needed. */
  void jumpAlways(Label target) {
    insns.add(new Insn(JMP_JA, 0, target, null));
  }

  void ret(int value) {
    insns.add(new Insn(RET_K, value, null, null));
  }

  void bind(Label label) {
    if (label.position >= 0) {
      throw new IllegalStateException("label bound twice");
    }
    label.position = insns.size();
  }

  int size() {
    return insns.size();
  }

  /**
   * The program as {@code struct sock_filter} values, each packed little-endian into a long
   * ({@code u16 code, u8 jt, u8 jf, u32 k}).
   */
  long[] assemble() {
    long[] out = new long[insns.size()];
    for (int i = 0; i < out.length; i++) {
      Insn in = insns.get(i);
      long word;
      if (in.code() == JMP_JA) {
        word = JMP_JA | (offset(i, in.jt(), Integer.MAX_VALUE) & 0xffff_ffffL) << 32;
      } else {
        int jt = offset(i, in.jt(), MAX_CONDITIONAL_OFFSET);
        int jf = offset(i, in.jf(), MAX_CONDITIONAL_OFFSET);
        word = in.code() | (long) jt << 16 | (long) jf << 24 | (in.k() & 0xffff_ffffL) << 32;
      }
      out[i] = word;
    }
    return out;
  }

  private int offset(int from, Label to, int max) {
    if (to == null) {
      return 0;
    }
    if (to.position < 0) {
      throw new IllegalStateException("jump to an unbound label");
    }
    int offset = to.position - from - 1;
    if (offset < 0 || offset > max) {
      throw new IllegalStateException("jump offset " + offset + " out of range");
    }
    return offset;
  }
}

package run.cocoon.container.seccomp;

/**
 * Runs a classic BPF program on one {@code struct seccomp_data}, the way the kernel does, so
 * that two programs can be compared on the same inputs. Covers the instructions a seccomp
 * filter may use; anything else fails the test.
 */
final class BpfInterpreter {
  /** {@code struct seccomp_data}: nr, arch, instruction_pointer, args[6]. */
  record SeccompData(int nr, int arch, long instructionPointer, long[] args) {
    SeccompData(int nr, int arch, long... args) {
      this(nr, arch, 0, java.util.Arrays.copyOf(args, 6));
    }

    int word(int offset) {
      if (offset < 0 || offset > 60 || offset % 4 != 0) {
        throw new AssertionError("load at offset " + offset);
      }
      return switch (offset) {
        case 0 -> nr;
        case 4 -> arch;
        case 8 -> (int) instructionPointer;
        case 12 -> (int) (instructionPointer >>> 32);
        default -> {
          long arg = args[(offset - 16) / 8];
          yield (offset - 16) % 8 == 0 ? (int) arg : (int) (arg >>> 32);
        }
      };
    }
  }

  private BpfInterpreter() {}

  /** The program's return value for {@code data}. */
  static int run(long[] program, SeccompData data) {
    int a = 0;
    int x = 0;
    int[] mem = new int[16];
    for (int pc = 0, steps = 0; steps <= program.length; steps++) {
      if (pc < 0 || pc >= program.length) {
        throw new AssertionError("ran off the program at " + pc);
      }
      long insn = program[pc];
      int code = (int) (insn & 0xffff);
      int jt = (int) (insn >>> 16 & 0xff);
      int jf = (int) (insn >>> 24 & 0xff);
      int k = (int) (insn >>> 32);
      pc++;
      switch (code) {
        case 0x20 -> a = data.word(k); // ld [k]
        case 0x00 -> a = k; // ld #k
        case 0x01 -> x = k; // ldx #k
        case 0x60 -> a = mem[k]; // ld M[k]
        case 0x61 -> x = mem[k]; // ldx M[k]
        case 0x02 -> mem[k] = a; // st M[k]
        case 0x03 -> mem[k] = x; // stx M[k]
        case 0x07 -> x = a; // tax
        case 0x87 -> a = x; // txa
        case 0x54 -> a &= k; // and #k
        case 0x5c -> a &= x; // and x
        case 0x44 -> a |= k; // or #k
        case 0x04 -> a += k; // add #k
        case 0x14 -> a -= k; // sub #k
        case 0x05 -> pc += k; // ja
        case 0x15 -> pc += a == k ? jt : jf;
        case 0x25 -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf;
        case 0x35 -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
        case 0x45 -> pc += (a & k) != 0 ? jt : jf;
        case 0x1d -> pc += a == x ? jt : jf;
        case 0x2d -> pc += Integer.compareUnsigned(a, x) > 0 ? jt : jf;
        case 0x3d -> pc += Integer.compareUnsigned(a, x) >= 0 ? jt : jf;
        case 0x06 -> { return k; } // ret #k
        case 0x16 -> { return a; } // ret a
        default -> throw new AssertionError("BPF instruction 0x" + Integer.toHexString(code));
      }
    }
    throw new AssertionError("the program loops");
  }
}

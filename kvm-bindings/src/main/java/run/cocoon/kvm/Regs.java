package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/** The general-purpose registers of a vCPU ({@code struct kvm_regs}). */
public record Regs(
    long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
    long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
    long rip, long rflags) {

  /** The registers, in {@code struct kvm_regs} order. */
  public enum Register {
    RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS
  }

  /** Bit 1 of RFLAGS is reserved and must be set. */
  public static final long RFLAGS_RESERVED = 0x2;

  /** All registers zero except the reserved RFLAGS bit. */
  public static final Regs INITIAL = fromArray(initialArray());

  private static long[] initialArray() {
    long[] values = new long[Register.values().length];
    values[Register.RFLAGS.ordinal()] = RFLAGS_RESERVED;
    return values;
  }

  /** One register's value. */
  public long get(Register register) {
    return toArray()[register.ordinal()];
  }

  /** A copy with one register changed. */
  public Regs with(Register register, long value) {
    long[] values = toArray();
    values[register.ordinal()] = value;
    return fromArray(values);
  }

  long[] toArray() {
    return new long[] {rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp,
        r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags};
  }

  static Regs fromArray(long[] v) {
    return new Regs(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
        v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17]);
  }

  static Regs read(MemorySegment s) {
    return fromArray(s.asSlice(0, Layouts.KVM_REGS.byteSize()).toArray(JAVA_LONG));
  }

  void write(MemorySegment s) {
    MemorySegment.copy(MemorySegment.ofArray(toArray()), 0, s, 0, Layouts.KVM_REGS.byteSize());
  }
}

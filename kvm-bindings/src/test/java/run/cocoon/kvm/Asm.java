package run.cocoon.kvm;

import java.io.ByteArrayOutputStream;

/**
 * A tiny x86 assembler for test guests: just the instructions the tests use, each method named
 * after its mnemonic and operand form. {@code Asm.real()} emits 16-bit code, {@code Asm.long64()}
 * 64-bit code; the encodings differ only where operand-size prefixes are needed.
 */
final class Asm {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final boolean mode64;
  private final long origin;

  private Asm(boolean mode64, long origin) {
    this.mode64 = mode64;
    this.origin = origin;
  }

  static Asm real(long origin) {
    return new Asm(false, origin);
  }

  static Asm long64(long origin) {
    return new Asm(true, origin);
  }

  /** Guest address of the next instruction. */
  long here() {
    return origin + out.size();
  }

  byte[] bytes() {
    return out.toByteArray();
  }

  private Asm b(int... bytes) {
    for (int x : bytes) {
      out.write(x);
    }
    return this;
  }

  private Asm imm16(int v) {
    return b(v & 0xff, (v >>> 8) & 0xff);
  }

  private Asm imm32(int v) {
    return imm16(v).imm16(v >>> 16);
  }

  private Asm imm64(long v) {
    return imm32((int) v).imm32((int) (v >>> 32));
  }

  /** mov dx, imm16. */
  Asm movDx(int port) {
    return (mode64 ? b(0x66) : this).b(0xba).imm16(port);
  }

  /** mov al, imm8. */
  Asm movAl(int value) {
    return b(0xb0, value & 0xff);
  }

  /** mov ax, imm16. */
  Asm movAx(int value) {
    return (mode64 ? b(0x66) : this).b(0xb8).imm16(value);
  }

  /** mov ds, ax. */
  Asm movDsAx() {
    return b(0x8e, 0xd8);
  }

  /** out dx, al. */
  Asm outDxAl() {
    return b(0xee);
  }

  /** out imm8, al. */
  Asm outAl(int port) {
    return b(0xe6, port & 0xff);
  }

  /** out dx, eax (32-bit operand). */
  Asm outDxEax() {
    return (mode64 ? this : b(0x66)).b(0xef);
  }

  /** in al, dx. */
  Asm inAlDx() {
    return b(0xec);
  }

  /** mov byte [imm16], imm8 (16-bit code: DS-relative). */
  Asm movByteToAddress16(int address, int value) {
    return b(0xc6, 0x06).imm16(address).b(value & 0xff);
  }

  /** mov al, [imm16] (16-bit code: DS-relative). */
  Asm movAlFromAddress16(int address) {
    return b(0xa0).imm16(address);
  }

  /** mov rax, imm64. */
  Asm movRax(long value) {
    return b(0x48, 0xb8).imm64(value);
  }

  /** mov rbx, imm64. */
  Asm movRbx(long value) {
    return b(0x48, 0xbb).imm64(value);
  }

  /** mov [rbx], rax. */
  Asm movMemRbxRax() {
    return b(0x48, 0x89, 0x03);
  }

  /** mov rax, [rbx]. */
  Asm movRaxMemRbx() {
    return b(0x48, 0x8b, 0x03);
  }

  /** shr rax, 32. */
  Asm shrRax32() {
    return b(0x48, 0xc1, 0xe8, 0x20);
  }

  Asm hlt() {
    return b(0xf4);
  }

  Asm sti() {
    return b(0xfb);
  }

  Asm cli() {
    return b(0xfa);
  }

  Asm iret() {
    return b(0xcf);
  }

  Asm int3() {
    return b(0xcc);
  }

  /** jmp short to an absolute guest address within 127 bytes. */
  Asm jmp(long target) {
    long rel = target - (here() + 2);
    if (rel < -128 || rel > 127) {
      throw new IllegalArgumentException("jump too far: " + rel);
    }
    return b(0xeb, (int) rel & 0xff);
  }

  /** An infinite loop (jmp $). */
  Asm spin() {
    return jmp(here());
  }
}

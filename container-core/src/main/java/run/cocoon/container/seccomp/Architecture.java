package run.cocoon.container.seccomp;

import java.util.Optional;
import java.util.Set;

/**
 * The system call ABIs an x86-64 kernel runs, by their libseccomp names, with what identifies
 * each in {@code seccomp_data}: its {@code AUDIT_ARCH_*} value and, for x32, the bit set in the
 * system call number. Like libseccomp, the 32-bit ABIs (i386, x32) have their arguments compared
 * on the low 32 bits only.
 */
public enum Architecture {
  SCMP_ARCH_X86_64(Architecture.AUDIT_ARCH_X86_64, 0, true, "x86_64"),
  SCMP_ARCH_X32(Architecture.AUDIT_ARCH_X86_64, Architecture.X32_SYSCALL_BIT, false, "x32"),
  SCMP_ARCH_X86(Architecture.AUDIT_ARCH_I386, 0, false, "i386");

  /** {@code AUDIT_ARCH_X86_64}: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
  static final int AUDIT_ARCH_X86_64 = 0xC000_003E;
  /** {@code AUDIT_ARCH_I386}: EM_386 | __AUDIT_ARCH_LE. */
  static final int AUDIT_ARCH_I386 = 0x4000_0003;
  /** {@code __X32_SYSCALL_BIT}: x32 system calls arrive as x86-64 ones with this bit set. */
  static final int X32_SYSCALL_BIT = 0x4000_0000;

  /**
   * libseccomp's other architectures: valid in a profile (profiles list every architecture they
   * were written for) but never the ABI of a call into an x86-64 kernel, so they add nothing.
   */
  static final Set<String> FOREIGN = Set.of("SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
      "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
      "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64");

  final int auditArch;
  final int numberBit;
  final boolean wideArguments;
  private final String tableName;
  private SyscallTable table;

  Architecture(int auditArch, int numberBit, boolean wideArguments, String tableName) {
    this.auditArch = auditArch;
    this.numberBit = numberBit;
    this.wideArguments = wideArguments;
    this.tableName = tableName;
  }

  /** This ABI's system call numbers (as the kernel sees them, x32's bit included). */
  synchronized SyscallTable table() {
    if (table == null) {
      table = SyscallTable.load("syscalls-" + tableName + ".txt", numberBit);
    }
    return table;
  }

  /** The architecture named {@code name}; empty for a foreign one; unknown names are errors. */
  static Optional<Architecture> named(String name, String field) {
    for (Architecture a : values()) {
      if (a.name().equals(name)) {
        return Optional.of(a);
      }
    }
    if (FOREIGN.contains(name)) {
      return Optional.empty();
    }
    throw new SeccompException(field + ": unknown architecture '" + name + "'");
  }
}

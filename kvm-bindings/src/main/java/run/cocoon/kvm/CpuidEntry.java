package run.cocoon.kvm;

/** One CPUID leaf as KVM describes it ({@code struct kvm_cpuid_entry2}). */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
  /** The leaf's output depends on ECX (the sub-leaf in {@code index}). */
  public static final int FLAG_SIGNIFICANT_INDEX = 1;

  public CpuidEntry withRegisters(int newEax, int newEbx, int newEcx, int newEdx) {
    return new CpuidEntry(function, index, flags, newEax, newEbx, newEcx, newEdx);
  }
}

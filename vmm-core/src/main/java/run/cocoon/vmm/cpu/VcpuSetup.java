package run.cocoon.vmm.cpu;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.kvm.CpuidEntry;
import run.cocoon.kvm.Fpu;
import run.cocoon.kvm.MsrEntry;
import run.cocoon.kvm.RawState;
import run.cocoon.kvm.VcpuFd;

/** The per-vCPU state every vCPU gets before it first runs, whatever the boot protocol. */
public final class VcpuSetup {
  private static final System.Logger LOG = System.getLogger(VcpuSetup.class.getName());

  private VcpuSetup() {}

  /**
   * CPUID, boot MSRs, FPU and local-APIC interrupt pins. Returns the MSRs KVM refused (vendors
   * differ: AMD has no IA32_MISC_ENABLE, for instance); the guest copes without them.
   */
  public static List<MsrEntry> configure(VcpuFd vcpu, List<CpuidEntry> supportedCpuid, int vcpus) {
    vcpu.setCpuid2(CpuidFilter.forVcpu(supportedCpuid, vcpu.id(), vcpus));
    List<MsrEntry> refused = setMsrs(vcpu, BootMsrs.all());
    vcpu.setFpu(Fpu.initial());
    // LINT0 receives the legacy PIC's interrupts (ExtINT), LINT1 NMIs: how PC firmware wires them,
    // and what the kernel expects when it finds no other description.
    vcpu.setLapic(vcpu.getLapic()
        .withRegister(RawState.Lapic.LVT_LINT0, RawState.Lapic.DELIVERY_EXTINT)
        .withRegister(RawState.Lapic.LVT_LINT1, RawState.Lapic.DELIVERY_NMI));
    return refused;
  }

  /** KVM stops at the first MSR it refuses; set the rest one at a time past it. */
  private static List<MsrEntry> setMsrs(VcpuFd vcpu, List<MsrEntry> msrs) {
    List<MsrEntry> refused = new ArrayList<>();
    List<MsrEntry> remaining = msrs;
    while (!remaining.isEmpty()) {
      int set = vcpu.setMsrs(remaining);
      if (set >= remaining.size()) {
        break;
      }
      MsrEntry bad = remaining.get(set);
      refused.add(bad);
      LOG.log(Level.DEBUG, "KVM refused MSR 0x{0}", Integer.toHexString(bad.index()));
      remaining = remaining.subList(set + 1, remaining.size());
    }
    return List.copyOf(refused);
  }
}

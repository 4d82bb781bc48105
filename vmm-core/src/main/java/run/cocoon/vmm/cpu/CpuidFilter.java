package run.cocoon.vmm.cpu;

import java.util.ArrayList;
import java.util.List;
import run.cocoon.kvm.CpuidEntry;

/**
 * What a vCPU's guest sees of CPUID: KVM's supported leaves, adjusted per vCPU. A pure function,
 * tested without KVM.
 *
 * <ul>
 *   <li>the hypervisor bit is set, so the guest looks for KVM's paravirtual leaves (kvmclock);
 *   <li>APIC ids and topology describe N single-threaded cores in one package;
 *   <li>performance-monitoring leaves are hidden: there is no virtual PMU, and a guest that sees
 *       AMD's core performance counters writes MSRs KVM then logs as unhandled.
 * </ul>
 */
public final class CpuidFilter {
  static final int LEAF_FEATURES = 0x1;
  static final int LEAF_CACHE_TOPOLOGY = 0x4;
  static final int LEAF_THERMAL_POWER = 0x6;
  static final int LEAF_PMU = 0xa;
  static final int LEAF_EXTENDED_TOPOLOGY = 0xb;
  static final int LEAF_AMD_FEATURES = 0x8000_0001;
  static final int LEAF_AMD_SIZES = 0x8000_0008;
  static final int LEAF_AMD_PMU = 0x8000_0022;

  /** CPUID.1:ECX bit 31, reserved for hypervisors to announce themselves. */
  static final int ECX_HYPERVISOR = 1 << 31;
  /** CPUID.1:EDX bit 28: the package may hold more than one logical processor. */
  static final int EDX_HTT = 1 << 28;
  /** CPUID.80000001:ECX bit 23: AMD core performance counter extensions. */
  static final int ECX_AMD_PERFCTR_CORE = 1 << 23;
  /** CPUID.80000001:ECX bit 1: AMD "core multi-processing legacy mode". */
  static final int ECX_AMD_CMP_LEGACY = 1 << 1;

  /** x2APIC topology level types in CPUID.0xB:ECX[15:8]. */
  private static final int LEVEL_SMT = 1;
  private static final int LEVEL_CORE = 2;

  private CpuidFilter() {}

  /** The leaves for vCPU {@code apicId} of a VM with {@code vcpus} vCPUs. */
  public static List<CpuidEntry> forVcpu(List<CpuidEntry> supported, int apicId, int vcpus) {
    if (vcpus < 1 || apicId < 0 || apicId >= vcpus || vcpus > 255) {
      throw new IllegalArgumentException("vCPU " + apicId + " of " + vcpus);
    }
    int coreBits = 32 - Integer.numberOfLeadingZeros(vcpus - 1); // ceil(log2(vcpus))
    List<CpuidEntry> out = new ArrayList<>(supported.size());
    for (CpuidEntry e : supported) {
      out.add(switch (e.function()) {
        case LEAF_FEATURES -> {
          int ebx = (e.ebx() & 0x0000_ffff) | (vcpus & 0xff) << 16 | apicId << 24;
          int edx = vcpus > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT;
          yield e.withRegisters(e.eax(), ebx, e.ecx() | ECX_HYPERVISOR, edx);
        }
        case LEAF_CACHE_TOPOLOGY -> {
          // EAX[31:26]: cores per package - 1; EAX[25:14]: logical processors sharing the
          // cache - 1 (each core is single-threaded and caches below L3 are per core).
          int level = (e.eax() >>> 5) & 0x7;
          int sharing = level >= 3 ? vcpus - 1 : 0;
          int eax = (e.eax() & 0x3fff) | (sharing & 0xfff) << 14 | (Math.min(vcpus, 64) - 1) << 26;
          yield e.withRegisters(eax, e.ebx(), e.ecx(), e.edx());
        }
        case LEAF_EXTENDED_TOPOLOGY -> topology(e, apicId, vcpus, coreBits);
        case LEAF_PMU, LEAF_THERMAL_POWER, LEAF_AMD_PMU -> e.withRegisters(0, 0, 0, 0);
        case LEAF_AMD_FEATURES -> e.withRegisters(e.eax(), e.ebx(),
            e.ecx() & ~ECX_AMD_PERFCTR_CORE & ~ECX_AMD_CMP_LEGACY, e.edx());
        case LEAF_AMD_SIZES -> // ECX[7:0]: cores in the package - 1
            e.withRegisters(e.eax(), e.ebx(), (e.ecx() & ~0xff) | (vcpus - 1), e.edx());
        default -> e;
      });
    }
    return List.copyOf(out);
  }

  private static CpuidEntry topology(CpuidEntry e, int apicId, int vcpus, int coreBits) {
    return switch (e.index()) {
      case 0 -> e.withRegisters(0, 1, LEVEL_SMT << 8, apicId);
      case 1 -> e.withRegisters(coreBits, vcpus, LEVEL_CORE << 8 | 1, apicId);
      default -> e.withRegisters(0, 0, e.index() & 0xff, apicId);
    };
  }
}

package run.cocoon.vmm.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import run.cocoon.kvm.CpuidEntry;

class CpuidFilterTest {
  private static final List<CpuidEntry> SUPPORTED = List.of(
      new CpuidEntry(0x0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69),
      new CpuidEntry(0x1, 0, 0, 0x806f8, 0xff_08_0800, 0x7ffa3203, 0x178bfbff),
      new CpuidEntry(0x4, 0, 1, 0x1c004121, 0x01c0003f, 0x3f, 0),
      new CpuidEntry(0x4, 3, 1, 0x1c03c163, 0x03c0003f, 0x3fff, 6),
      new CpuidEntry(0xa, 0, 0, 0x07300805, 0, 0, 0x603),
      new CpuidEntry(0xb, 0, 1, 1, 2, 0x100, 7),
      new CpuidEntry(0xb, 1, 1, 4, 8, 0x201, 7),
      new CpuidEntry(0x8000_0001, 0, 0, 0, 0, 0x00c0_0003, 0x2c100800),
      new CpuidEntry(0x8000_0008, 0, 0, 0x3030, 0, 0x7, 0));

  private static CpuidEntry leaf(List<CpuidEntry> l, int function, int index) {
    return l.stream().filter(e -> e.function() == function && e.index() == index).findFirst().orElseThrow();
  }

  @Test
  void hypervisorBitAndApicIdPerVcpu() {
    List<CpuidEntry> v2 = CpuidFilter.forVcpu(SUPPORTED, 2, 4);
    CpuidEntry l1 = leaf(v2, 1, 0);
    assertEquals(CpuidFilter.ECX_HYPERVISOR, l1.ecx() & CpuidFilter.ECX_HYPERVISOR);
    assertEquals(2, l1.ebx() >>> 24, "initial APIC id");
    assertEquals(4, (l1.ebx() >>> 16) & 0xff, "logical processors per package");
    assertEquals(CpuidFilter.EDX_HTT, l1.edx() & CpuidFilter.EDX_HTT);
    assertEquals(0x0800, l1.ebx() & 0xffff, "brand index and CLFLUSH size kept");
  }

  @Test
  void topologyDescribesSingleThreadedCores() {
    List<CpuidEntry> v = CpuidFilter.forVcpu(SUPPORTED, 1, 3);
    assertEquals(new CpuidEntry(0xb, 0, 1, 0, 1, 0x100, 1), leaf(v, 0xb, 0));
    assertEquals(new CpuidEntry(0xb, 1, 1, 2, 3, 0x201, 1), leaf(v, 0xb, 1));
    assertEquals(2, leaf(v, 4, 0).eax() >>> 26, "cores per package - 1");
    assertEquals(0, (leaf(v, 4, 0).eax() >>> 14) & 0xfff, "L1 not shared");
    assertEquals(2, (leaf(v, 4, 3).eax() >>> 14) & 0xfff, "L3 shared by all");
    assertEquals(2, leaf(v, 0x8000_0008, 0).ecx() & 0xff);
  }

  @Test
  void pmuIsHidden() {
    List<CpuidEntry> v = CpuidFilter.forVcpu(SUPPORTED, 0, 1);
    assertEquals(new CpuidEntry(0xa, 0, 0, 0, 0, 0, 0), leaf(v, 0xa, 0));
    assertEquals(0, leaf(v, 0x8000_0001, 0).ecx() & CpuidFilter.ECX_AMD_PERFCTR_CORE);
    assertEquals(0, leaf(v, 1, 0).edx() & CpuidFilter.EDX_HTT, "one vCPU: no HTT");
  }

  @Test
  void badTopologyIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> CpuidFilter.forVcpu(SUPPORTED, 4, 4));
    assertThrows(IllegalArgumentException.class, () -> CpuidFilter.forVcpu(SUPPORTED, 0, 0));
  }
}

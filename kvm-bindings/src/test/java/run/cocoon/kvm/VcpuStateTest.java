package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** System queries and every vCPU state ioctl, written and read back. */
@ExtendWith(KvmAvailable.class)
class VcpuStateTest {
  private static final int MSR_IA32_SYSENTER_CS = 0x174;
  private static final int MSR_IA32_SYSENTER_ESP = 0x175;

  @Test
  void systemQueries() {
    try (Kvm kvm = Kvm.open()) {
      assertEquals(Kvm.API_VERSION, kvm.apiVersion());
      assertTrue(kvm.checkExtension(KvmCap.USER_MEMORY) > 0);
      assertTrue(kvm.checkExtension(KvmCap.IRQCHIP) > 0);
      assertTrue(kvm.vcpuMmapSize() >= Layouts.KVM_RUN.byteSize());
      List<CpuidEntry> cpuid = kvm.supportedCpuid();
      assertTrue(cpuid.stream().anyMatch(e -> e.function() == 0), "leaf 0 present");
      assertTrue(kvm.msrIndexList().length > 0);
    }
  }

  @Test
  void registerStateRoundTrips() {
    try (TinyVm vm = new TinyVm(0x10000)) {
      VcpuFd v = vm.vcpu(0);
      Regs regs = Regs.INITIAL.with(Regs.Register.RAX, 0x1122).with(Regs.Register.R15, -1L)
          .with(Regs.Register.RIP, 0x1000);
      v.setRegs(regs);
      assertEquals(regs, v.getRegs());

      Sregs sregs = v.getSregs();
      Sregs changed = sregs.withTables(new DescriptorTable(0x500, 0x17), new DescriptorTable(0x600, 0xff));
      v.setSregs(changed);
      assertEquals(changed.gdt(), v.getSregs().gdt());
      assertEquals(changed.idt(), v.getSregs().idt());

      // KVM_SET_FPU stores the x87 words and XMM registers (it ignores MXCSR, which the
      // XSAVE area carries), so check those.
      byte[] xmm = new byte[256];
      for (int i = 0; i < xmm.length; i++) {
        xmm[i] = (byte) i;
      }
      Fpu init = Fpu.initial();
      v.setFpu(new Fpu(init.fpr(), 0x27f, 0, 0, 0, 0, 0, xmm, init.mxcsr()));
      assertEquals(0x27f, v.getFpu().fcw());
      assertEquals(java.util.HexFormat.of().formatHex(xmm),
          java.util.HexFormat.of().formatHex(v.getFpu().xmm()));

      assertEquals(2, v.setMsrs(List.of(new MsrEntry(MSR_IA32_SYSENTER_CS, 0x10),
          new MsrEntry(MSR_IA32_SYSENTER_ESP, 0x7000))));
      assertEquals(List.of(new MsrEntry(MSR_IA32_SYSENTER_CS, 0x10),
          new MsrEntry(MSR_IA32_SYSENTER_ESP, 0x7000)),
          v.getMsrs(MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP));
    }
  }

  @Test
  void cpuidAndApicAndPlatformStateRoundTrip() {
    try (TinyVm vm = new TinyVm(0x10000)) {
      vm.vm.createIrqchip();
      vm.vm.createPit2(VmFd.PIT_SPEAKER_DUMMY);
      VcpuFd v = vm.vcpu(0);
      List<CpuidEntry> supported = vm.kvm.supportedCpuid();
      v.setCpuid2(supported);
      assertEquals(supported.size(), v.getCpuid2().size());

      RawState.Lapic lapic = v.getLapic()
          .withRegister(RawState.Lapic.LVT_LINT0, RawState.Lapic.DELIVERY_EXTINT)
          .withRegister(RawState.Lapic.LVT_LINT1, RawState.Lapic.DELIVERY_NMI);
      v.setLapic(lapic);
      assertEquals(RawState.Lapic.DELIVERY_EXTINT, v.getLapic().register(RawState.Lapic.LVT_LINT0));
      assertEquals(RawState.Lapic.DELIVERY_NMI, v.getLapic().register(RawState.Lapic.LVT_LINT1));

      assertEquals(MpState.RUNNABLE, v.getMpState());
      v.setMpState(MpState.HALTED);
      assertEquals(MpState.HALTED, v.getMpState());

      RawState.VcpuEvents events = v.getVcpuEvents();
      assertFalse(events.exceptionInjected());
      v.setVcpuEvents(events);

      if (vm.kvm.checkExtension(KvmCap.XSAVE) > 0) {
        RawState.Xsave xsave = v.getXsave();
        v.setXsave(xsave);
        assertEquals(xsave, v.getXsave());
      }
      if (vm.kvm.checkExtension(KvmCap.XCRS) > 0) {
        List<Xcr> xcrs = v.getXcrs();
        assertTrue(xcrs.stream().anyMatch(x -> x.xcr() == 0 && (x.value() & 1) == 1),
            "XCR0 has x87 enabled: " + xcrs);
        v.setXcrs(xcrs);
      }

      VmFd.Clock clock = vm.vm.getClock();
      vm.vm.setClock(clock.clockNanos() + 1_000_000_000L);
      assertTrue(vm.vm.getClock().clockNanos() >= clock.clockNanos() + 1_000_000_000L);
    }
  }
}

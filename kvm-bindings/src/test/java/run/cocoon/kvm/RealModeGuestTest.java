package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Hand-assembled real-mode guests: a few dozen CPL0 instructions each. */
@ExtendWith(KvmAvailable.class)
class RealModeGuestTest {
  private static final long RAM = 0x10000;
  private static final long CODE = 0x1000;

  @Test
  void portOutputReachesUserSpaceInOrderThenHlt() {
    try (TinyVm vm = new TinyVm(RAM)) {
      Asm a = Asm.real(CODE).movDx(0x3f8).movAl('H').outDxAl().movAl('i').outDxAl().hlt();
      vm.load(CODE, a.bytes());
      TinyVm.Trace t = TinyVm.run(vm.realModeVcpu(0, CODE), port -> 0, 100);
      assertEquals(List.of("out:0x3f8=0x48", "out:0x3f8=0x69"), t.events());
      assertInstanceOf(VmExit.Hlt.class, t.last());
    }
  }

  @Test
  void portInputIsAnsweredByUserSpace() {
    try (TinyVm vm = new TinyVm(RAM)) {
      Asm a = Asm.real(CODE).movDx(0x64).inAlDx().outAl(0x80).hlt();
      vm.load(CODE, a.bytes());
      TinyVm.Trace t = TinyVm.run(vm.realModeVcpu(0, CODE), port -> port == 0x64 ? 0x5a : 0, 100);
      assertEquals(List.of("in:0x64", "out:0x80=0x5a"), t.events());
    }
  }

  @Test
  void mmioOutsideRamExitsForWritesAndReads() {
    try (TinyVm vm = new TinyVm(RAM)) {
      // DS = 0x2000 puts DS:0 at guest-physical 0x20000, beyond the 64 KiB of RAM.
      Asm a = Asm.real(CODE).movAx(0x2000).movDsAx()
          .movByteToAddress16(0x10, 0x42).movAlFromAddress16(0x11).outAl(0x80).hlt();
      vm.load(CODE, a.bytes());
      TinyVm.Trace t = TinyVm.run(vm.realModeVcpu(0, CODE), addr -> addr == 0x20011 ? 0x77 : 0, 100);
      assertEquals(List.of("mmio-write:0x20010=0x42", "mmio-read:0x20011", "out:0x80=0x77"),
          t.events());
      assertInstanceOf(VmExit.Hlt.class, t.last());
    }
  }

  @Test
  void guestStateIsReadableAfterHlt() {
    try (TinyVm vm = new TinyVm(RAM)) {
      vm.load(CODE, Asm.real(CODE).movAx(0x1234).hlt().bytes());
      VcpuFd v = vm.realModeVcpu(0, CODE);
      assertInstanceOf(VmExit.Hlt.class, v.run());
      Regs r = v.getRegs();
      assertEquals(0x1234, r.rax() & 0xffff);
      assertEquals(CODE + 4, r.rip(), "RIP points after mov ax (3 bytes) and hlt (1 byte)");
    }
  }

  @Test
  void tripleFaultEndsInShutdown() {
    try (TinyVm vm = new TinyVm(RAM)) {
      vm.load(CODE, Asm.real(CODE).int3().bytes());
      VcpuFd v = vm.realModeVcpu(0, CODE);
      // An empty IDT: #BP cannot be delivered -> #GP -> #DF -> triple fault.
      v.setSregs(v.getSregs().withTables(v.getSregs().gdt(), new DescriptorTable(0, 0)));
      TinyVm.Trace t = TinyVm.run(v, x -> 0, 100);
      assertInstanceOf(VmExit.Shutdown.class, t.last());
    }
  }
}

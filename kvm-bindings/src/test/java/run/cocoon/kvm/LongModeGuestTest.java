package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Hand-assembled guests entered directly in 64-bit long mode with paging. */
@ExtendWith(KvmAvailable.class)
class LongModeGuestTest {
  private static final long RAM = 0x10_0000; // 1 MiB; the 2 MiB page maps MMIO above it
  private static final long CODE = 0x4000;
  private static final long MMIO = 0x1f_f000;

  @Test
  void portIoInLongMode() {
    try (TinyVm vm = new TinyVm(RAM)) {
      Asm a = Asm.long64(CODE).movDx(0x3f8).movAl('6').outDxAl().movDx(0x71).inAlDx()
          .outAl(0x80).hlt();
      vm.load(CODE, a.bytes());
      TinyVm.Trace t = TinyVm.run(vm.longModeVcpu(0, CODE), port -> 0x33, 100);
      assertEquals(List.of("out:0x3f8=0x36", "in:0x71", "out:0x80=0x33"), t.events());
      assertInstanceOf(VmExit.Hlt.class, t.last());
    }
  }

  @Test
  void eightByteMmioWriteAndReadThroughPaging() {
    try (TinyVm vm = new TinyVm(RAM)) {
      Asm a = Asm.long64(CODE).movRbx(MMIO).movRax(0x1122_3344_5566_7788L).movMemRbxRax()
          .movRaxMemRbx().hlt();
      vm.load(CODE, a.bytes());
      VcpuFd v = vm.longModeVcpu(0, CODE);
      TinyVm.Trace t = TinyVm.run(v, addr -> 0x0102_0304_0506_0708L, 100);
      assertEquals(List.of("mmio-write:0x1ff000=0x1122334455667788", "mmio-read:0x1ff000"),
          t.events());
      assertInstanceOf(VmExit.Hlt.class, t.last());
      assertEquals(0x0102_0304_0506_0708L, v.getRegs().rax());
    }
  }

  @Test
  void longModeStateIsWhatWeSet() {
    try (TinyVm vm = new TinyVm(RAM)) {
      vm.load(CODE, Asm.long64(CODE).hlt().bytes());
      VcpuFd v = vm.longModeVcpu(0, CODE);
      assertInstanceOf(VmExit.Hlt.class, v.run());
      Sregs s = v.getSregs();
      assertEquals(0x500, s.efer() & 0x500, "EFER.LME and LMA");
      assertEquals(TinyVm.PML4, s.cr3());
      assertEquals(true, s.cs().l(), "64-bit code segment");
      assertEquals(CODE + 1, v.getRegs().rip());
    }
  }
}

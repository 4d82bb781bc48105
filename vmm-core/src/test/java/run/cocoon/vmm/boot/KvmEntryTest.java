package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.VcpuFd;
import run.cocoon.kvm.VmExit;
import run.cocoon.kvm.VmFd;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.MmapGuestMemory;

/**
 * The entry state is accepted by KVM and means what we think: a tiny "kernel" at the entry
 * point reads boot structures through the register the protocol names and reports through port
 * 0x80. Needs /dev/kvm (a software KVM is enough: a handful of CPL0 instructions).
 */
class KvmEntryTest {
  static final int REPORT_PORT = 0x80;

  @TempDir Path dir;

  @BeforeAll
  static void needKvm() {
    if (!Kvm.isAvailable()) {
      System.out.println("SKIP KvmEntryTest: " + Kvm.unavailabilityCause());
    }
    Assumptions.assumeTrue(Kvm.isAvailable(), Kvm::unavailabilityCause);
  }

  /** An ELF whose entry points (64-bit and PVH) hold the given code. */
  private Path kernel(byte[] code64, byte[] codePvh) throws Exception {
    byte[] elf = TestImages.elf(true);
    System.arraycopy(code64, 0, elf, TestImages.ELF_TEXT_OFFSET, code64.length);
    System.arraycopy(codePvh, 0, elf,
        (int) (TestImages.ELF_TEXT_OFFSET + TestImages.PVH_ENTRY - TestImages.ELF_PADDR),
        codePvh.length);
    return TestImages.write(dir, "vmlinux", elf);
  }

  @Test
  void linux64EntryRunsInLongModeWithRsiOnTheZeroPage() throws Exception {
    byte[] code64 = {
        (byte) 0x8a, (byte) 0x86, 0x02, 0x02, 0x00, 0x00, // mov al, [rsi + 0x202]  ('H' of HdrS)
        (byte) 0xe6, (byte) REPORT_PORT, //                          out 0x80, al
        0x48, (byte) 0xb8, (byte) 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rax, imm64
        0x48, (byte) 0xc1, (byte) 0xe8, 0x20, //              shr rax, 32 (REX.W: 64-bit only)
        (byte) 0xe6, (byte) REPORT_PORT, //                          out 0x80, al  (0x44)
        (byte) 0xf4}; //                                      hlt
    List<Integer> out = run(kernel(code64, new byte[] {(byte) 0xf4}), BootConfig.Entry.LINUX_64);
    assertEquals(List.of((int) 'H', 0x44), out);
  }

  @Test
  void pvhEntryRunsWithEbxOnStartInfo() throws Exception {
    byte[] pvh = {
        (byte) 0x8a, 0x03, //          mov al, [ebx]   (low byte of the start_info magic)
        (byte) 0xe6, (byte) REPORT_PORT, //   out 0x80, al
        (byte) 0xf4}; //               hlt
    List<Integer> out = run(kernel(new byte[] {(byte) 0xf4}, pvh), BootConfig.Entry.PVH);
    assertEquals(List.of(0x78), out);
  }

  private static List<Integer> run(Path kernel, BootConfig.Entry entry) throws Exception {
    try (MmapGuestMemory memory = TestImages.memory();
        Kvm kvm = Kvm.open();
        VmFd vm = kvm.createVm()) {
      BootPlan plan = BootPlan.prepare(memory, BootConfig.of(kernel, Optional.empty(), "", 1,
          TestImages.RAM_BYTES).withEntry(entry));
      vm.setTssAddress(Layout.TSS_ADDRESS);
      vm.setIdentityMapAddress(Layout.IDENTITY_MAP_ADDRESS);
      memory.registerWith(vm);
      try (VcpuFd vcpu = vm.createVcpu(0)) {
        vcpu.setSregs(plan.entry().applyTo(vcpu.getSregs()));
        vcpu.setRegs(plan.entry().regs());
        List<Integer> reported = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          VmExit exit = vcpu.run();
          if (exit instanceof VmExit.Io io && io.isOut() && io.port() == REPORT_PORT) {
            reported.add((int) io.value());
            continue;
          }
          assertInstanceOf(VmExit.Hlt.class, exit, () -> "unexpected exit " + exit
              + " at rip 0x" + Long.toHexString(vcpu.getRegs().rip()));
          return reported;
        }
        throw new AssertionError("guest did not halt");
      }
    }
  }
}

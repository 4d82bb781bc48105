package run.cocoon.kvm.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.Libc;
import run.cocoon.kvm.MemoryRegion;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Sregs;
import run.cocoon.kvm.VcpuFd;
import run.cocoon.kvm.VmExit;
import run.cocoon.kvm.VmFd;

/**
 * KVM exit round trip from Java: a real-mode guest loops on "out 0x10, al", each OUT exits to
 * user space, which decodes the exit and re-enters. Same guest and loop as bench/exit_roundtrip.c.
 * Prints nanoseconds per exit. Arguments: WARMUP_EXITS MEASURED_EXITS.
 */
public final class ExitRoundTripBench {
  private static final long RAM_BYTES = 0x10000;
  private static final long CODE = 0x1000;

  private ExitRoundTripBench() {}

  public static void main(String[] args) {
    long warmup = args.length > 0 ? Long.parseLong(args[0]) : 20_000;
    long measured = args.length > 1 ? Long.parseLong(args[1]) : 200_000;
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofConfined()) {
      vm.setTssAddress(0xfffb_d000L);
      MemorySegment ram = Libc.mmapAnonymous(RAM_BYTES, arena);
      byte[] code = {(byte) 0xe6, 0x10, (byte) 0xeb, (byte) 0xfc}; // out 0x10, al; jmp -4
      MemorySegment.copy(MemorySegment.ofArray(code), 0, ram, CODE, code.length);
      vm.setUserMemoryRegion(new MemoryRegion(0, 0, 0, RAM_BYTES, ram.address()));
      try (VcpuFd vcpu = vm.createVcpu(0)) {
        Sregs s = vcpu.getSregs();
        vcpu.setSregs(s.withSegments(s.cs().withSelectorAndBase(0, 0), s.ds()));
        vcpu.setRegs(Regs.INITIAL.with(Regs.Register.RIP, CODE));
        loop(vcpu, warmup);
        long t0 = System.nanoTime();
        loop(vcpu, measured);
        long t1 = System.nanoTime();
        System.out.printf("%.1f%n", (t1 - t0) / (double) measured);
      }
    }
  }

  private static void loop(VcpuFd vcpu, long exits) {
    for (long i = 0; i < exits; i++) {
      if (!(vcpu.run() instanceof VmExit.Io io) || io.port() != 0x10) {
        throw new IllegalStateException("unexpected exit");
      }
    }
  }
}

package run.cocoon.vmm;

import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Sregs;
import run.cocoon.kvm.VcpuFd;
import run.cocoon.kvm.VcpuKick;
import run.cocoon.kvm.VmExit;

/**
 * What a vCPU thread needs of its vCPU: enter the guest until the next exit, be kicked out of it,
 * and show its registers for a crash report. {@link Kvm} is the real one; the loop's tests drive
 * the loop with scripted exits and failures.
 */
interface Vcpu {
  int id();

  /** KVM_RUN: the next exit; a {@link run.cocoon.kvm.SyscallException} when the call fails. */
  VmExit run();

  /** {@code kvm_run.immediate_exit}: the next (or current) entry returns at once. */
  void setImmediateExit(boolean value);

  /** Interrupts the KVM_RUN of the thread {@code thread} (a pthread handle) runs. */
  void kick(long thread);

  Regs registers();

  Sregs specialRegisters();

  /** A vCPU of a KVM VM. */
  record Kvm(VcpuFd fd) implements Vcpu {
    @Override
    public int id() {
      return fd.id();
    }

    @Override
    public VmExit run() {
      return fd.run();
    }

    @Override
    public void setImmediateExit(boolean value) {
      fd.setImmediateExit(value);
    }

    @Override
    public void kick(long thread) {
      VcpuKick.kick(fd, thread);
    }

    @Override
    public Regs registers() {
      return fd.getRegs();
    }

    @Override
    public Sregs specialRegisters() {
      return fd.getSregs();
    }
  }
}

package run.cocoon.vmm;

import java.lang.System.Logger.Level;
import run.cocoon.kvm.Errno;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Sregs;
import run.cocoon.kvm.SyscallException;
import run.cocoon.kvm.VcpuKick;
import run.cocoon.kvm.VmExit;
import run.cocoon.vmm.devices.IoBus;
import run.cocoon.vmm.devices.MmioBus;

/** One vCPU's thread: KVM_RUN, dispatch the exit, repeat until the VM ends. */
final class VcpuLoop implements Runnable {
  /** KVM_RUN failing with EAGAIN/EINTR this many times in a row means something is wrong. */
  static final int TRANSIENT_FAILURES_MAX = 1000;
  private static final System.Logger LOG = System.getLogger(VcpuLoop.class.getName());

  private final Vcpu vcpu;
  private final VmControl control;
  private final IoBus io;
  private final MmioBus mmio;
  private long thread; // pthread handle while the thread runs, else 0; guarded by this

  VcpuLoop(Vcpu vcpu, VmControl control, IoBus io, MmioBus mmio) {
    this.vcpu = vcpu;
    this.control = control;
    this.io = io;
    this.mmio = mmio;
  }

  /**
   * Gets the vCPU out of KVM_RUN so it looks at the control state. Synchronized with the thread's
   * exit: signalling a pthread that has already exited is undefined behaviour.
   */
  synchronized void kick() {
    vcpu.setImmediateExit(true);
    if (thread != 0) {
      vcpu.kick(thread);
    }
  }

  /** A crash report gets the vCPU's state at the moment, as a guest kernel oops would print it. */
  private VmEnd withRegisters(VmEnd end) {
    if (!(end instanceof VmEnd.Crashed crashed)) {
      return end;
    }
    try {
      Regs r = vcpu.registers();
      Sregs s = vcpu.specialRegisters();
      LOG.log(Level.ERROR, String.format("vCPU %d at crash: RIP=%016x RSP=%016x RFLAGS=%x"
              + " CR0=%x CR2=%x CR3=%x CR4=%x EFER=%x CS=%x",
          vcpu.id(), r.rip(), r.rsp(), r.rflags(), s.cr0(), s.cr2(), s.cr3(), s.cr4(), s.efer(),
          s.cs().selector()));
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "no register state after the crash: " + e.getMessage());
    }
    return crashed;
  }

  @Override
  public void run() {
    VcpuKick.signal(); // install the kick handler before anyone needs it
    synchronized (this) {
      thread = VcpuKick.currentThread();
    }
    int transientFailures = 0;
    try {
      while (!control.isEnding()) {
        control.awaitRunnable();
        if (control.isEnding()) {
          break;
        }
        VmExit exit;
        try {
          exit = vcpu.run();
          transientFailures = 0;
        } catch (SyscallException e) {
          if ((e.errno() == Errno.EAGAIN || e.errno() == Errno.EINTR)
              && ++transientFailures < TRANSIENT_FAILURES_MAX) {
            continue;
          }
          control.end(new VmEnd.Crashed("vCPU " + vcpu.id() + ": " + e.getMessage()));
          break;
        }
        ExitHandler.Action action;
        try {
          action = ExitHandler.handle(exit, io, mmio);
        } catch (RuntimeException e) {
          LOG.log(Level.ERROR, "device failure on vCPU " + vcpu.id(), e);
          control.end(new VmEnd.Crashed("device failure: " + e));
          break;
        }
        switch (action) {
          case ExitHandler.Action.Continue c -> { }
          case ExitHandler.Action.CheckControl c -> vcpu.setImmediateExit(false);
          case ExitHandler.Action.End e -> control.end(withRegisters(e.end()));
        }
      }
    } catch (InterruptedException e) {
      control.end(new VmEnd.Stopped("vCPU thread interrupted"));
    } finally {
      synchronized (this) {
        thread = 0;
      }
    }
  }
}

package run.cocoon.vmm;

import run.cocoon.kvm.VmExit;
import run.cocoon.vmm.devices.IoBus;
import run.cocoon.vmm.devices.MmioBus;

/**
 * What the VMM does with each vCPU exit. Apart from the device calls it makes through the buses,
 * a pure function of the exit: tested with synthetic exits.
 */
public final class ExitHandler {
  /** The vCPU loop's next step. */
  public sealed interface Action {
    /** Re-enter the guest. */
    record Continue() implements Action {}

    /** KVM_RUN was interrupted: look at the VM's control state, then re-enter. */
    record CheckControl() implements Action {}

    /** The VM is over. */
    record End(VmEnd end) implements Action {}
  }

  private static final Action CONTINUE = new Action.Continue();
  private static final Action CHECK_CONTROL = new Action.CheckControl();

  private ExitHandler() {}

  public static Action handle(VmExit exit, IoBus io, MmioBus mmio) {
    return switch (exit) {
      case VmExit.Io x -> {
        io.handle(x);
        yield CONTINUE;
      }
      case VmExit.Mmio x -> {
        mmio.handle(x);
        yield CONTINUE;
      }
      // With the in-kernel irqchip HLT does not reach user space; if it does, waiting in the
      // kernel again is all the vCPU can do.
      case VmExit.Hlt x -> CONTINUE;
      case VmExit.Interrupted x -> CHECK_CONTROL;
      case VmExit.Shutdown x -> new Action.End(new VmEnd.Crashed("triple fault"));
      case VmExit.FailEntry x -> new Action.End(new VmEnd.Crashed(
          "the CPU refused to enter the guest (hardware reason 0x"
              + Long.toHexString(x.hardwareReason()) + ")"));
      case VmExit.InternalError x -> new Action.End(new VmEnd.Crashed(
          "KVM internal error, suberror " + x.suberror()));
      case VmExit.SystemEvent x -> switch (x.type()) {
        case VmExit.SystemEvent.SHUTDOWN -> new Action.End(new VmEnd.PoweredOff());
        case VmExit.SystemEvent.RESET -> new Action.End(new VmEnd.Rebooted("system event"));
        default -> new Action.End(new VmEnd.Crashed("system event " + x.type()));
      };
      case VmExit.Unknown x -> new Action.End(new VmEnd.Crashed(
          "unexpected exit " + x.reason() + ": " + x.detail()));
    };
  }
}

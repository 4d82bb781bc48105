package run.cocoon.shim.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.VmExit;
import run.cocoon.vmm.smoke.SmokeVm;

/** {@code cocoon smoke}: boots a tiny guest on this host's KVM and prints its serial output. */
@Command(name = "smoke", mixinStandardHelpOptions = true,
    description = "Boot a tiny guest on /dev/kvm and print what it writes to its serial port.")
final class SmokeCommand implements Callable<Integer> {
  @Option(names = "--message", description = "What the guest prints (default: ${DEFAULT-VALUE}).",
      defaultValue = "Hello from a cocoon guest!")
  String message;

  @Override
  public Integer call() {
    if (!Kvm.isAvailable()) {
      throw new CliException(ExitCodes.UNAVAILABLE, Kvm.unavailabilityCause()
          + "\n  (scripts/demo runs this inside the nested test box on such hosts)");
    }
    SmokeVm.Result r;
    try {
      r = SmokeVm.run(message);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.BAD_INPUT, e.getMessage());
    }
    System.out.println("guest serial: " + r.serialOutput());
    System.out.printf("guest stopped: %s after %d ms%n", describe(r.lastExit()), r.elapsed().toMillis());
    return r.lastExit() instanceof VmExit.Hlt && r.serialOutput().equals(message)
        ? ExitCodes.OK : ExitCodes.FAILURE;
  }

  private static String describe(VmExit exit) {
    return switch (exit) {
      case VmExit.Hlt h -> "halted";
      case VmExit.Shutdown s -> "triple fault";
      default -> exit.toString();
    };
  }
}

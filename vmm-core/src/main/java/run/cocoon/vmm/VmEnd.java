package run.cocoon.vmm;

/** How a VM ended. Each kind maps to a distinct, stable process exit code. */
public sealed interface VmEnd {
  /** Exit code when the guest powered off. */
  int EXIT_POWERED_OFF = 0;
  /** Exit code when the guest rebooted (the VM stops instead of restarting). */
  int EXIT_REBOOTED = 10;
  /** Exit code when the guest crashed: kernel panic, triple fault, KVM failure. */
  int EXIT_CRASHED = 11;
  /** Exit code when the host stopped the VM (signal, API call). */
  int EXIT_STOPPED = 12;

  /** The process exit code for this end. */
  int exitCode();

  /** One line for humans. */
  String describe();

  /** The guest powered itself off. */
  record PoweredOff() implements VmEnd {
    @Override
    public int exitCode() {
      return EXIT_POWERED_OFF;
    }

    @Override
    public String describe() {
      return "powered off";
    }
  }

  /** The guest asked for a reset ({@code how}: i8042, ACPI). */
  record Rebooted(String how) implements VmEnd {
    @Override
    public int exitCode() {
      return EXIT_REBOOTED;
    }

    @Override
    public String describe() {
      return "rebooted (" + how + ")";
    }
  }

  /** The guest or its vCPU cannot continue. */
  record Crashed(String reason) implements VmEnd {
    @Override
    public int exitCode() {
      return EXIT_CRASHED;
    }

    @Override
    public String describe() {
      return "crashed: " + reason;
    }
  }

  /** The host stopped the VM. */
  record Stopped(String why) implements VmEnd {
    @Override
    public int exitCode() {
      return EXIT_STOPPED;
    }

    @Override
    public String describe() {
      return "stopped: " + why;
    }
  }
}

package run.cocoon.shim.run;

import run.cocoon.container.ExitStatus;

/** Isolation in a microVM: the container runs under the guest agent inside its own VM. */
public final class VmIsolation implements Isolation {
  @Override
  public String name() {
    return "vm";
  }

  @Override
  public void checkAvailable() {
    throw new IsolationUnavailableException(
        "VM isolation: not available in this build yet (use --isolation=container)");
  }

  @Override
  public ExitStatus run(RunRequest request, RunHooks hooks) {
    checkAvailable();
    throw new AssertionError("unreachable");
  }
}

package run.cocoon.shim.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.container.ExitStatus;
import run.cocoon.kvm.Kvm;
import run.cocoon.shim.vm.GuestArtifacts;
import run.cocoon.shim.vm.VmContainer;
import sun.misc.Signal;

/**
 * Isolation in a microVM: the container runs under the guest agent inside its own VM, from the
 * image's rootfs disk with a writable overlay in the guest, with the same container library as
 * container mode. Volumes and TAP networking are not carried into the VM yet and are refused
 * with a clear error rather than silently dropped.
 */
public final class VmIsolation implements Isolation {
  /** Guest RAM on top of the container's memory limit: the kernel, the agent's JVM, page cache. */
  public static final long GUEST_OVERHEAD_BYTES = 256L << 20;
  /** Guest RAM when the container has no memory limit. */
  public static final long DEFAULT_GUEST_BYTES = 512L << 20;
  private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

  @Override
  public String name() {
    return "vm";
  }

  @Override
  public void checkAvailable() {
    if (!Kvm.isAvailable()) {
      throw new IsolationUnavailableException("VM isolation needs /dev/kvm: "
          + Kvm.unavailabilityCause());
    }
    try {
      GuestArtifacts.kernel();
      GuestArtifacts.guestImage();
    } catch (IOException e) {
      throw new IsolationUnavailableException("VM isolation: " + e.getMessage());
    }
  }

  @Override
  public ExitStatus run(RunRequest r, RunHooks hooks) {
    if (!r.volumes().isEmpty()) {
      throw new IsolationUnavailableException("volumes (-v) are not supported with"
          + " --isolation=vm yet; use --isolation=container");
    }
    if (!"none".equals(r.network())) {
      throw new IsolationUnavailableException("--network " + r.network()
          + " is not supported with --isolation=vm yet; use --network none");
    }
    checkAvailable();
    ObjectNode spec = Codec.json().valueToTree(r.spec());
    long memory = r.resources().memoryBytes() > 0
        ? r.resources().memoryBytes() + GUEST_OVERHEAD_BYTES : DEFAULT_GUEST_BYTES;
    memory = (memory + 0xfff) & ~0xfffL;
    int cpus = Math.max(1, (int) Math.ceil(r.resources().cpus()));
    VmContainer.Spec vmSpec = new VmContainer.Spec(r.id().value(), spec, r.imageDisk().get(),
        cpus, memory, r.stdio().interactive() || r.stdio().tty(), r.stdio().tty(), List.of(),
        r.stateDir().resolve("vm"));
    try (VmContainer vm = VmContainer.boot(vmSpec);
        Terminal.Raw raw = r.stdio().tty() ? Terminal.raw() : null) {
      Map<String, sun.misc.SignalHandler> previous = new LinkedHashMap<>();
      for (String s : FORWARDED) {
        Signal sig = new Signal(s);
        previous.put(s, Signal.handle(sig, x -> forward(vm, sig.getNumber())));
      }
      try {
        vm.start(System.in, System.out, System.err);
        hooks.started(0, 0, Map.of(), 0);
        Reply.Exited exited = vm.waitFor();
        if (Boolean.getBoolean("cocoon.timing")) {
          System.err.println("cocoon: VM mode phases: " + vm.timing());
        }
        return exited.signal() > 0 ? new ExitStatus.Signaled(exited.signal(), exited.oomKilled())
            : new ExitStatus.Exited(exited.exitCode(), exited.oomKilled());
      } finally {
        previous.forEach((s, h) -> Signal.handle(new Signal(s), h));
      }
    } catch (IOException e) {
      throw new IllegalStateException("VM isolation: " + e.getMessage(), e);
    } catch (AgentException e) {
      throw new IllegalStateException("VM isolation: the agent refused: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void forward(VmContainer vm, int signal) {
    try {
      vm.signal(signal);
    } catch (IOException | AgentException e) {
      System.err.println("cocoon: could not forward signal " + signal + ": " + e.getMessage());
    }
  }
}

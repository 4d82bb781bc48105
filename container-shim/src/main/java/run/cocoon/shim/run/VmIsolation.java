package run.cocoon.shim.run;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.FileHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.container.ExitStatus;
import run.cocoon.kvm.Kvm;
import run.cocoon.shim.vm.GuestArtifacts;
import run.cocoon.shim.vm.VmContainer;

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
  /** The VMM's log in the VM's state directory, beside the guest's console log. */
  static final String VMM_LOG = "vmm.log";
  /** Size at which the VMM's log starts over: a guest can provoke warnings for as long as it runs. */
  public static final int VMM_LOG_MAX_BYTES = 1 << 20;

  /**
   * Guest RAM for a container with a memory limit of {@code containerLimitBytes} (0 or less: no
   * limit), in whole pages.
   */
  public static long guestMemoryBytes(long containerLimitBytes) {
    long m = containerLimitBytes > 0 ? containerLimitBytes + GUEST_OVERHEAD_BYTES
        : DEFAULT_GUEST_BYTES;
    return (m + 0xfff) & ~0xfffL;
  }

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
    long memory = guestMemoryBytes(r.resources().memoryBytes());
    int cpus = Math.max(1, (int) Math.ceil(r.resources().cpus()));
    VmContainer.Spec vmSpec = new VmContainer.Spec(r.id().value(), spec, r.imageDisk().get(),
        cpus, memory, r.stdio().interactive() || r.stdio().tty(), r.stdio().tty(), List.of(),
        r.stateDir().resolve("vm"));
    VmContainer.Timing timing = null;
    try (SignalRelay relay = new SignalRelay(FORWARDED);
        VmmLog log = VmmLog.to(vmSpec.stateDir().resolve(VMM_LOG));
        VmContainer vm = VmContainer.boot(vmSpec);
        Terminal.Raw raw = r.stdio().tty() ? Terminal.raw() : null) {
      timing = vm.timing();
      vm.start(System.in, System.out, System.err);
      relay.attach(signal -> forward(vm, signal));
      hooks.started(0, 0, Map.of(), 0);
      Reply.Exited exited = vm.waitFor();
      return exited.signal() > 0 ? new ExitStatus.Signaled(exited.signal(), exited.oomKilled())
          : new ExitStatus.Exited(exited.exitCode(), exited.oomKilled());
    } catch (IOException e) {
      throw new IllegalStateException("VM isolation: " + e.getMessage(), e);
    } catch (AgentException e) {
      throw new IllegalStateException("VM isolation: the agent refused: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      if (timing != null && Boolean.getBoolean("cocoon.timing")) {
        System.err.println("cocoon: VM mode phases: " + timing); // after teardown
      }
    }
  }

  /**
   * The VMM's warnings (ports the guest kernel probes, devices it resets) describe the guest, not
   * the container: while the VM runs they go to {@link #VMM_LOG} beside the console log, and only
   * errors still reach the user's stderr, which carries the container's own output.
   */
  private static final class VmmLog implements AutoCloseable {
    private final Logger root = Logger.getLogger("");
    private final FileHandler file;
    private final Map<Handler, Level> previous = new LinkedHashMap<>();

    private VmmLog(FileHandler file) {
      this.file = file;
      for (Handler h : root.getHandlers()) {
        previous.put(h, h.getLevel());
        h.setLevel(Level.SEVERE);
      }
      root.addHandler(file);
    }

    static VmmLog to(Path path) throws IOException {
      Files.createDirectories(path.getParent());
      FileHandler f = new FileHandler(path.toString(), VMM_LOG_MAX_BYTES, 1);
      f.setFormatter(new SimpleFormatter());
      return new VmmLog(f);
    }

    @Override
    public void close() {
      root.removeHandler(file);
      file.close();
      previous.forEach(Handler::setLevel);
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

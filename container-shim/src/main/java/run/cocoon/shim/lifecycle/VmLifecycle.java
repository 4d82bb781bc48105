package run.cocoon.shim.lifecycle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostProcesses;
import run.cocoon.kvm.Kvm;
import run.cocoon.shim.image.DiskBuilder;
import run.cocoon.shim.image.Fs;
import run.cocoon.shim.vm.GuestArtifacts;
import run.cocoon.shim.vm.VmContainer;

/**
 * VM isolation: the container runs under the guest agent inside its own microVM
 * ({@link VmContainer}), with the same container library as container isolation. The recorded
 * pid is the host process that runs the VM: the {@code cocoon run} process itself in the
 * foreground, or a {@link VmKeeper} for a container created by {@code cocoon-runtime}. Every later
 * call (state, start, signal, exec, stats) reaches the agent through the VM's hybrid vsock socket
 * in the container's state directory; the VM host's liveness says whether anything still runs.
 *
 * <p>Volumes and TAP networking are not carried into the VM yet and are refused with a clear
 * error rather than silently dropped.
 */
public final class VmLifecycle implements Lifecycle {
  public static final String NAME = "vm";
  /** The container's id inside its VM (one container per VM; host ids may be longer). */
  static final String AGENT_CONTAINER = "container";
  /** Guest RAM on top of the container's memory limit: the kernel, the agent's JVM, page cache. */
  public static final long GUEST_OVERHEAD_BYTES = 256L << 20;
  /** Guest RAM when the container has no memory limit. */
  public static final long DEFAULT_GUEST_BYTES = 512L << 20;
  /** The VMM's log in the VM's state directory, beside the guest's console log. */
  static final String VMM_LOG = "vmm.log";
  /** Size at which the VMM's log starts over: a guest can provoke warnings for as long as it runs. */
  public static final int VMM_LOG_MAX_BYTES = 1 << 20;
  /**
   * How long create waits for the keeper: longer than the keeper's own bounds (the agent's boot,
   * then the create request) plus the keeper's JVM start, so the keeper's error is the one seen.
   */
  static final Duration KEEPER_READY_TIMEOUT = VmContainer.AGENT_READY_TIMEOUT
      .plus(AgentClient.REQUEST_TIMEOUT).plusMinutes(3);
  /** Pause between looks at the keeper's readiness file. */
  private static final long READY_POLL_MILLIS = 20;
  private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

  static final String DISK = "rootfs.ext4";
  static final String GUEST_CONFIG = "guest-config.json";
  static final String LAUNCH = "vm.json";
  static final String KEEPER = "keeper.json";
  static final String KEEPER_STATUS = "keeper.status";
  static final String KEEPER_LOG = "keeper.log";
  /** The VM's own directory (vsock socket, console log, VMM log) in the container's. */
  public static final String VM_DIR = "vm";
  static final String VSOCK_SOCKET = "vsock.sock";
  private static final String FILES_WORK = "files";

  /** What the keeper needs beyond the spec and the disk. */
  record Launch(int cpus, long memoryBytes) {}

  /** The keeper's answer: ready, or the error that create reports. */
  record KeeperStatus(boolean ready, String error) {}

  /** The keeper's identity, recorded as soon as it exists so a killed create can be cleaned. */
  record KeeperPid(int pid, long startTime) {}

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
    return NAME;
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
    VmContainer.Spec vmSpec = new VmContainer.Spec(AGENT_CONTAINER, spec, r.imageDisk().get(),
        cpus, memory, r.stdio().interactive() || r.stdio().tty(), r.stdio().tty(), List.of(),
        r.stateDir().resolve(VM_DIR));
    VmContainer.Timing timing = null;
    try (SignalRelay relay = new SignalRelay(FORWARDED);
        VmmLog vmmLog = VmmLog.to(vmSpec.stateDir().resolve(VMM_LOG));
        OutputStream log = r.logFile() == null ? null : Files.newOutputStream(r.logFile());
        VmContainer vm = VmContainer.boot(vmSpec);
        Terminal.Raw raw = r.stdio().tty() ? Terminal.raw() : null) {
      timing = vm.timing();
      vm.start(System.in, Streams.tee(System.out, log), Streams.tee(System.err, log));
      relay.attach(signal -> forward(vm, signal));
      // This process runs the VM: it is what later calls check for liveness.
      int self = (int) ProcessHandle.current().pid();
      hooks.started(self, HostProcesses.startTime(self).orElse(0), Map.of(), 0);
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

  private static void forward(VmContainer vm, int signal) {
    try {
      vm.signal(signal);
    } catch (IOException | AgentException e) {
      System.err.println("cocoon: could not forward signal " + signal + ": " + e.getMessage());
    }
  }

  /**
   * Refuses what needs no side effect (a terminal, bind mounts that cannot reach into a VM), then
   * builds the disk, starts the keeper and waits until the container exists in its VM.
   */
  @Override
  public Created create(ContainerStore store, CreateRequest req) throws IOException {
    ContainerConfig config = req.config();
    if (config.process().terminal()) {
      throw new LifecycleException("process.terminal (-t) is not supported in VM isolation yet;"
          + " use container isolation");
    }
    VmBundle vmb = VmBundle.of(req.spec());
    Path dir = store.claim(req.id());
    boolean done = false;
    try {
      ContainerState s = ContainerState.creating(req.id(), NAME, req.bundle(), config.rootfs(),
          null, config.process().args(), Instant.now().toString(), Map.of(), config.annotations());
      store.save(s);
      DiskBuilder.buildFromDirectory(config.rootfs(), dir.resolve(DISK));
      Path work = Files.createDirectory(dir.resolve(FILES_WORK));
      DiskBuilder.addFiles(dir.resolve(DISK), vmb.files(), work);
      Fs.deleteTree(work);
      Codec.json().writeValue(dir.resolve(GUEST_CONFIG).toFile(), vmb.guestSpec());
      StateFiles.write(dir.resolve(LAUNCH), new Launch(cpus(config), memory(config)));

      Process keeper = VmKeeper.spawn(dir);
      long start = HostProcesses.startTime((int) keeper.pid()).orElse(0);
      StateFiles.write(dir.resolve(KEEPER), new KeeperPid((int) keeper.pid(), start));
      req.debug().accept("VM keeper for " + req.id() + " is pid " + keeper.pid());
      KeeperStatus st = awaitKeeper(dir, keeper);
      if (!st.ready()) {
        throw new LifecycleException("VM isolation: " + st.error());
      }
      s = s.withProcess((int) keeper.pid(), start, Map.of(), 0);
      store.save(s);
      done = true;
      return new Created(s, keeper);
    } finally {
      if (!done) {
        destroy(store, store.find(req.id()).orElse(null), req.id());
        store.remove(req.id());
      }
    }
  }

  private static int cpus(ContainerConfig c) {
    Long quota = c.resources().cpuQuota();
    Long period = c.resources().cpuPeriod();
    if (quota == null || period == null || quota <= 0 || period <= 0) {
      return 1;
    }
    return (int) Math.max(1, Math.min(Math.ceilDiv(quota, period),
        Runtime.getRuntime().availableProcessors()));
  }

  private static long memory(ContainerConfig c) {
    Long limit = c.resources().memoryLimit();
    return guestMemoryBytes(limit == null ? 0 : limit);
  }

  private static KeeperStatus awaitKeeper(Path dir, Process keeper) throws IOException {
    long deadline = System.nanoTime() + KEEPER_READY_TIMEOUT.toNanos();
    Path file = dir.resolve(KEEPER_STATUS);
    while (true) {
      try {
        return StateFiles.read(file, KeeperStatus.class);
      } catch (NoSuchFileException e) {
        // not yet
      }
      if (!keeper.isAlive()) {
        return new KeeperStatus(false, "the VM keeper ended (exit " + keeper.exitValue()
            + ") before the container was created; see " + dir.resolve(KEEPER_LOG));
      }
      if (System.nanoTime() > deadline) {
        return new KeeperStatus(false, "the container was not created within "
            + KEEPER_READY_TIMEOUT.toSeconds() + " s");
      }
      try {
        Thread.sleep(READY_POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while the VM booted", e);
      }
    }
  }

  @Override
  public void start(ContainerStore store, ContainerState s) {
    AgentCalls.agent(store.dir(s.containerId()), c -> {
      c.start(AGENT_CONTAINER);
      return null;
    });
  }

  /** The VM host's liveness, then the agent's word. */
  @Override
  public Status status(ContainerStore store, ContainerState s) {
    if (s.pid() == 0) {
      return Status.CREATING;
    }
    if (!HostProcesses.isAlive(s.pid(), s.startTime())) {
      return Status.STOPPED;
    }
    try {
      for (Reply.ContainerInfo c : AgentCalls.agent(store.dir(s.containerId()), AgentClient::list)) {
        if (c.id().equals(AGENT_CONTAINER)) {
          return switch (c.status()) {
            case "created" -> Status.CREATED;
            case "running" -> Status.RUNNING;
            default -> Status.STOPPED;
          };
        }
      }
      return Status.STOPPED;
    } catch (LifecycleException e) {
      // The VM host holds a VM whose agent does not answer (wedged, busy, or still booting):
      // it is not stopped.
      return Status.RUNNING;
    }
  }

  /**
   * Signals through the agent. SIGKILL must work on a wedged guest too: if the agent does not
   * take it, the VM host is killed, which ends the VM and with it the container.
   */
  @Override
  public void signal(ContainerStore store, ContainerState s, int signal, boolean all) {
    try {
      AgentCalls.agent(store.dir(s.containerId()), c -> {
        c.signal(AGENT_CONTAINER, null, signal, all);
        return null;
      });
    } catch (LifecycleException e) {
      if (signal != Signals.SIGKILL) {
        throw e;
      }
      DetachedContainer.signal(s.handle(), Signals.SIGKILL);
    }
  }

  /**
   * Runs a process in the container's VM with the caller's fds 0-2 as its stdio. Detached execs
   * and terminals need a host process holding their stdio and are not supported yet.
   */
  @Override
  public ExecResult exec(ContainerStore store, ContainerState s, ExecRequest req)
      throws IOException {
    if (req.detach()) {
      throw new LifecycleException("exec --detach is not supported in VM isolation yet");
    }
    if (req.process().terminal()) {
      throw new LifecycleException("exec --tty is not supported in VM isolation yet");
    }
    byte[] random = new byte[6];
    new SecureRandom().nextBytes(random);
    String exec = "exec-" + HexFormat.of().formatHex(random);
    ObjectNode p = Codec.json().valueToTree(req.process());
    AgentClient client = AgentCalls.connect(store.dir(s.containerId()));
    try {
      AgentCalls.bounded(() -> client.exec(AGENT_CONTAINER, exec, p, new Request.Stdio(false, true)));
      Connection out = AgentCalls.bounded(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDOUT));
      Connection err = AgentCalls.bounded(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDERR));
      Connection in = AgentCalls.bounded(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDIN));
      Thread o = Streams.pump("exec-stdout", out.input(), new FileOutputStream(FileDescriptor.out), null);
      Thread e = Streams.pump("exec-stderr", err.input(), new FileOutputStream(FileDescriptor.err), null);
      Thread.ofPlatform().daemon().start(() -> {
        try {
          new FileInputStream(FileDescriptor.in).transferTo(in.output());
        } catch (IOException ignored) {
          // the process closed its stdin or ended
        }
        in.shutdownOutput();
      });
      Reply.Exited exited = client.waitFor(AGENT_CONTAINER, exec);
      o.join(TimeUnit.SECONDS.toMillis(30));
      e.join(TimeUnit.SECONDS.toMillis(30));
      return new ExecResult.Exited(exited.exitCode());
    } catch (AgentException e) {
      throw new LifecycleException("exec: the agent refused: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      client.close();
    }
  }

  @Override
  public List<Integer> pids(ContainerStore store, ContainerState s) {
    // The container's processes are in the guest; the host process that holds them runs the VM.
    List<Integer> pids = new ArrayList<>();
    if (s.pid() != 0 && HostProcesses.isAlive(s.pid(), s.startTime())) {
      pids.add(s.pid());
    }
    return pids;
  }

  @Override
  public Stats stats(ContainerStore store, ContainerState s) {
    Reply.Statistics st = AgentCalls.agent(store.dir(s.containerId()),
        c -> c.stats(AGENT_CONTAINER));
    return new Stats(st.memoryBytes(), st.cpuNanos(), st.pids());
  }

  @Override
  public void destroy(ContainerStore store, ContainerState s) {
    destroy(store, s, s.containerId());
  }

  static void destroyUnrecorded(ContainerStore store, ContainerId id) {
    destroy(store, null, id);
  }

  /** Ends the VM host if it runs; {@code s} null or pid 0: the keeper a killed create recorded. */
  private static void destroy(ContainerStore store, ContainerState s, ContainerId id) {
    KeeperPid k = null;
    if (s != null && s.pid() != 0) {
      k = new KeeperPid(s.pid(), s.startTime());
    } else {
      try {
        k = StateFiles.read(store.dir(id).resolve(KEEPER), KeeperPid.class);
      } catch (NoSuchFileException e) {
        // create was killed before the keeper existed
      } catch (IOException e) {
        throw new LifecycleException("the VM keeper of " + id + " is unreadable: " + e.getMessage());
      }
    }
    if (k == null) {
      return;
    }
    DetachedContainer.Handle h = new DetachedContainer.Handle(id, k.pid(), k.startTime(), Map.of(), 0);
    DetachedContainer.signal(h, Signals.SIGKILL);
    if (!HostProcesses.awaitExit(k.pid(), k.startTime(), DetachedContainer.KILL_TIMEOUT)) {
      throw new LifecycleException("VM host " + k.pid() + " still alive after SIGKILL");
    }
  }

  @Override
  public int awaitExit(Created created) throws IOException {
    try {
      return created.vmHost().waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}

package run.cocoon.shim.runtime;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.client.HybridVsock;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.image.DiskBuilder;
import run.cocoon.shim.image.Fs;
import run.cocoon.shim.run.StateFiles;
import run.cocoon.shim.run.VmIsolation;
import run.cocoon.shim.vm.VmContainer;

/**
 * {@code cocoon-runtime} in VM isolation: each container is a microVM held by a detached host
 * process, the {@link VmKeeper}, whose pid is the container's pid. The state directory holds,
 * beside {@code state.json}: the rootfs disk built from the bundle, the spec the guest gets, the
 * keeper's pid, readiness and log, and the VM's hybrid vsock socket and console log. Later calls
 * reach the agent through that socket; the keeper's liveness says whether the container is
 * stopped.
 */
final class VmRuntime {
  /** The container's id inside its VM (one container per VM; runtime ids may be longer). */
  static final String AGENT_CONTAINER = "container";
  /**
   * How long create waits for the keeper: longer than the keeper's own bounds (the agent's boot,
   * then the create request) plus the keeper's JVM start, so the keeper's error is the one seen.
   */
  static final Duration KEEPER_READY_TIMEOUT = VmContainer.AGENT_READY_TIMEOUT
      .plus(AgentClient.REQUEST_TIMEOUT).plusMinutes(3);
  /** How long a state, start, kill or exec call waits for the agent before giving up on it. */
  static final Duration AGENT_CALL_TIMEOUT = Duration.ofSeconds(20);
  /** Pause between looks at the keeper's readiness file. */
  private static final long READY_POLL_MILLIS = 20;

  static final String DISK = "rootfs.ext4";
  static final String GUEST_CONFIG = "guest-config.json";
  static final String LAUNCH = "vm.json";
  static final String KEEPER = "keeper.json";
  static final String KEEPER_STATUS = "keeper.status";
  static final String KEEPER_LOG = "keeper.log";
  static final String VM_DIR = "vm";
  private static final String FILES_WORK = "files";

  /** What the keeper needs beyond the spec and the disk. */
  record Launch(int cpus, long memoryBytes) {}

  /** The keeper's answer: ready, or the error that create reports. */
  record KeeperStatus(boolean ready, String error) {}

  /** The keeper's identity, recorded as soon as it exists so a killed create can be cleaned. */
  record KeeperPid(int pid, long startTime) {}

  /** A created container and, in the creating JVM, its keeper (for {@code run}). */
  record Created(RuntimeState state, Process keeper) {}

  private VmRuntime() {}

  /**
   * Refusals that need no side effect, so a bad bundle leaves nothing: a terminal, and bind
   * mounts that cannot reach into a VM.
   */
  static VmBundle check(OciSpec spec, ContainerConfig config) {
    if (config.process().terminal()) {
      throw new RuntimeCliException("process.terminal (-t) is not supported in VM isolation yet;"
          + " use container isolation");
    }
    return VmBundle.of(spec);
  }

  /** Builds the disk, starts the keeper and waits until the container exists in its VM. */
  static Created create(RuntimeMain main, StateDir sd, ContainerId id, Path bundle,
      ContainerConfig config, VmBundle vmb) throws IOException {
    Path dir = sd.dir(id);
    RuntimeState s = new RuntimeState(RuntimeCommands.OCI_VERSION, id.value(), bundle.toString(),
        config.rootfs().toString(), 0, 0, Instant.now().toString(), Map.of(), 0,
        config.annotations(), "vm");
    sd.save(s);
    DiskBuilder.buildFromDirectory(config.rootfs(), dir.resolve(DISK));
    Path work = Files.createDirectory(dir.resolve(FILES_WORK));
    DiskBuilder.addFiles(dir.resolve(DISK), vmb.files(), work);
    Fs.deleteTree(work);
    Codec.json().writeValue(dir.resolve(GUEST_CONFIG).toFile(), vmb.guestSpec());
    StateFiles.write(dir.resolve(LAUNCH), new Launch(cpus(config), memory(config)));

    Process keeper = spawnKeeper(dir);
    long start = HostProcesses.startTime((int) keeper.pid()).orElse(0);
    StateFiles.write(dir.resolve(KEEPER), new KeeperPid((int) keeper.pid(), start));
    main.log("debug", "VM keeper for " + id + " is pid " + keeper.pid());
    KeeperStatus st = awaitKeeper(dir, keeper);
    if (!st.ready()) {
      throw new RuntimeCliException("VM isolation: " + st.error());
    }
    s = s.withProcess((int) keeper.pid(), start);
    sd.save(s);
    return new Created(s, keeper);
  }

  private static int cpus(ContainerConfig c) {
    Long quota = c.resources().cpuQuota();
    Long period = c.resources().cpuPeriod();
    if (quota == null || period == null || quota <= 0 || period <= 0) {
      return 1;
    }
    return (int) Math.max(1, Math.min(Math.ceilDiv(quota, period), Runtime.getRuntime().availableProcessors()));
  }

  private static long memory(ContainerConfig c) {
    Long limit = c.resources().memoryLimit();
    return VmIsolation.guestMemoryBytes(limit == null ? 0 : limit);
  }

  /** A JVM running {@link VmKeeper}, with our fds 0-2 and the {@code cocoon.*} properties. */
  private static Process spawnKeeper(Path dir) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("cocoon.")) {
        cmd.add("-D" + name + "=" + System.getProperty(name));
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), VmKeeper.class.getName(),
        dir.toString()));
    return new ProcessBuilder(cmd).inheritIO().start();
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

  /** created | running | stopped: the keeper's liveness, then the agent's word. */
  static String status(StateDir sd, RuntimeState s) {
    if (s.pid() == 0) {
      return "creating";
    }
    if (!HostProcesses.isAlive(s.pid(), s.startTime())) {
      return "stopped";
    }
    try {
      for (Reply.ContainerInfo c : agent(sd.dir(new ContainerId(s.id())), AgentClient::list)) {
        if (c.id().equals(AGENT_CONTAINER)) {
          return c.status();
        }
      }
      return "stopped";
    } catch (RuntimeCliException e) {
      // The keeper holds a VM whose agent does not answer (wedged, or busy): it is not stopped.
      return "running";
    }
  }

  static void start(StateDir sd, RuntimeState s) {
    agent(sd.dir(new ContainerId(s.id())), c -> {
      c.start(AGENT_CONTAINER);
      return null;
    });
  }

  /**
   * Signals through the agent. SIGKILL must work on a wedged guest too: if the agent does not
   * take it, the keeper is killed, which ends the VM and with it the container.
   */
  static void kill(StateDir sd, RuntimeState s, int signal, boolean all) {
    try {
      agent(sd.dir(new ContainerId(s.id())), c -> {
        c.signal(AGENT_CONTAINER, null, signal, all);
        return null;
      });
    } catch (RuntimeCliException e) {
      if (signal != 9) {
        throw e;
      }
      DetachedContainer.signal(s.handle(), 9);
    }
  }

  /** Ends the keeper (and so the VM) if it runs, then removes everything under the state dir. */
  static void delete(StateDir sd, ContainerId id, RuntimeState s) throws IOException {
    KeeperPid k = null;
    if (s != null && s.pid() != 0) {
      k = new KeeperPid(s.pid(), s.startTime());
    } else {
      try {
        k = StateFiles.read(sd.dir(id).resolve(KEEPER), KeeperPid.class);
      } catch (NoSuchFileException e) {
        // create was killed before the keeper existed
      }
    }
    if (k != null) {
      DetachedContainer.Handle h = new DetachedContainer.Handle(id, k.pid(), k.startTime(),
          Map.of(), 0);
      DetachedContainer.signal(h, 9);
      if (!HostProcesses.awaitExit(k.pid(), k.startTime(), DetachedContainer.KILL_TIMEOUT)) {
        throw new RuntimeCliException("VM keeper " + k.pid() + " still alive after SIGKILL");
      }
    }
    sd.remove(id);
  }

  /**
   * Runs a process in the container's VM with our fds 0-2 as its stdio, and returns its exit
   * code. Detached execs need a host process holding their stdio and are not supported yet.
   */
  static int exec(StateDir sd, RuntimeState s, OciSpec.Process process, boolean detach)
      throws IOException {
    if (detach) {
      throw new RuntimeCliException("exec --detach is not supported in VM isolation yet");
    }
    if (process.terminal()) {
      throw new RuntimeCliException("exec --tty is not supported in VM isolation yet");
    }
    Path dir = sd.dir(new ContainerId(s.id()));
    byte[] random = new byte[6];
    new java.security.SecureRandom().nextBytes(random);
    String exec = "exec-" + HexFormat.of().formatHex(random);
    ObjectNode p = Codec.json().valueToTree(process);
    AgentClient client = connect(dir);
    try {
      call(() -> client.exec(AGENT_CONTAINER, exec, p, new Request.Stdio(false, true)));
      Connection out = call(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDOUT));
      Connection err = call(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDERR));
      Connection in = call(() -> client.attach(AGENT_CONTAINER, exec, Request.Stream.STDIN));
      Thread o = pump(out.input(), new FileOutputStream(FileDescriptor.out));
      Thread e = pump(err.input(), new FileOutputStream(FileDescriptor.err));
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
      return exited.exitCode();
    } catch (AgentException e) {
      throw new RuntimeCliException("exec: the agent refused: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      client.close();
    }
  }

  private static Thread pump(InputStream from, OutputStream to) {
    return Thread.ofPlatform().daemon().start(() -> {
      byte[] buf = new byte[16384];
      try {
        int n;
        while ((n = from.read(buf)) > 0) {
          to.write(buf, 0, n);
          to.flush();
        }
      } catch (IOException ignored) {
        // the stream ended with the connection
      }
    });
  }

  interface AgentCall<T> {
    T call(AgentClient client) throws IOException, AgentException;
  }

  interface Step<T> {
    T run() throws IOException, AgentException;
  }

  /** One agent call on a fresh connection, bounded by {@link #AGENT_CALL_TIMEOUT}. */
  static <T> T agent(Path dir, AgentCall<T> call) {
    AgentClient client = connect(dir);
    try {
      return call(() -> call.call(client));
    } catch (AgentException e) {
      throw new RuntimeCliException("the agent refused: " + e.getMessage());
    } finally {
      client.close();
    }
  }

  private static AgentClient connect(Path dir) {
    Path socket = dir.resolve(VM_DIR).resolve("vsock.sock");
    try {
      return call(() -> AgentClient.connect(HybridVsock.connector(socket, ProtocolLimits.AGENT_PORT)));
    } catch (AgentException e) {
      throw new RuntimeCliException("the agent refused the connection: " + e.getMessage());
    }
  }

  /** Runs a step on its own thread so a guest that never answers cannot hold this call. */
  private static <T> T call(Step<T> step) throws AgentException {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread.ofPlatform().daemon().name("agent-call").start(() -> {
      try {
        f.complete(step.run());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    try {
      return f.get(AGENT_CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new RuntimeCliException("the VM's agent did not answer within "
          + AGENT_CALL_TIMEOUT.toSeconds() + " s");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AgentException a) {
        throw a;
      }
      throw new RuntimeCliException("cannot reach the VM's agent: " + e.getCause().getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeCliException("interrupted while talking to the agent");
    }
  }
}

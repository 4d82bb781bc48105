package run.cocoon.shim.lifecycle;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.container.CgroupStats;
import run.cocoon.container.ConsoleSocket;
import run.cocoon.container.Container;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerProcess;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostMounts;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.SpecValidator;
import run.cocoon.container.Stdio;
import run.cocoon.container.seccomp.SeccompFilter;

/**
 * Container isolation: namespaces and cgroups on the host kernel, through container-core. The
 * recorded pid is the container's init process. {@code cocoon run}'s rootfs is an overlay (the
 * image's unpacked rootfs as the read-only lower layer, the container's writes in its state
 * directory), unmounted when the container ends.
 */
public final class HostLifecycle implements Lifecycle {
  public static final String NAME = "container";
  /** {@code cocoon run}'s bundle directory inside the container's state directory. */
  public static final String BUNDLE = "bundle";
  /** A bundle's config, and the store's copy of it. */
  static final String CONFIG = "config.json";
  /** Console size until the client (conmon) resizes it. */
  private static final int TTY_ROWS = 24;
  private static final int TTY_COLS = 80;
  private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void checkAvailable() {
    ContainerRuntime.findHelper();
  }

  @Override
  public ExitStatus run(RunRequest r, RunHooks hooks) {
    Path rootfs = r.bundle().resolve(r.spec().root().path());
    Path upper = r.stateDir().resolve("upper");
    Path work = r.stateDir().resolve("work");
    try {
      Files.createDirectories(rootfs);
      Files.createDirectories(upper);
      Files.createDirectories(work);
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare " + r.stateDir() + ": " + e, e);
    }
    HostMounts.overlay(r.imageRootfs(), upper, work, rootfs);
    try (SignalRelay relay = new SignalRelay(FORWARDED);
        ConsoleSocket.Listener console = r.stdio().tty() ? ConsoleSocket.Listener.bind(
            privateDirectory("cocoon-console-").resolve("console.sock")) : null) {
      ContainerConfig cfg = SpecValidator.loadBundle(r.bundle());
      // With -t the container's terminal is a pty of its own devpts (ttyname works inside), its
      // master sent back over our console socket, as runc does for conmon.
      Stdio stdio = console != null ? Stdio.consoleSocket(console.path()) : Stdio.pipes();
      try (Container c = Container.create(r.id(), cfg, stdio, ContainerRuntime.defaults());
          Terminal.Raw raw = r.stdio().tty() ? Terminal.raw() : null) {
        ConsoleSocket.Terminal tty = console == null ? null
            : console.receive(Terminal.rows(), Terminal.cols());
        relay.attach(c::signal);
        c.start();
        Map<String, String> cg = new LinkedHashMap<>();
        c.cgroup().directories().forEach((k, v) -> cg.put(k, v.toString()));
        hooks.started(c.pid(), HostProcesses.startTime(c.pid()).orElse(0), cg, cfg.unshareFlags());
        try (OutputStream log = r.logFile() == null ? null : Files.newOutputStream(r.logFile())) {
          InputStream stdout = tty != null ? tty.output() : c.init().stdout();
          OutputStream stdin = tty != null ? tty.input() : c.init().stdin();
          Thread out = Streams.pump("stdout", stdout, System.out, log);
          Thread err = c.init().stderr() == null ? null
              : Streams.pump("stderr", c.init().stderr(), System.err, log);
          if (r.stdio().interactive() || r.stdio().tty()) {
            Streams.copyStdin(System.in, stdin);
          } else {
            stdin.close();
          }
          ExitStatus st = c.waitFor();
          out.join();
          if (err != null) {
            err.join();
          }
          return st;
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e.toString(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      HostMounts.unmount(rootfs);
    }
  }

  /**
   * A new 0700 directory under the temporary directory, removed when the JVM exits: a console
   * socket's path must fit {@code sun_path}, which a container's state directory may not.
   */
  private static Path privateDirectory(String prefix) throws IOException {
    Path d = Files.createTempDirectory(prefix);
    d.toFile().deleteOnExit();
    return d;
  }

  @Override
  public Created create(ContainerStore store, CreateRequest req) throws IOException {
    ContainerConfig config = req.config();
    ContainerRuntime rt = ContainerRuntime.defaults();
    store.claim(req.id());
    boolean done = false;
    try {
      Map<String, String> cg = new LinkedHashMap<>();
      rt.cgroups().bases().forEach((k, v) -> cg.put(k, v.resolve(req.id().value()).toString()));
      ContainerState s = ContainerState.creating(req.id(), NAME, req.bundle(), config.rootfs(),
          null, config.process().args(), Instant.now().toString(), cg, config.annotations());
      store.save(s); // before any side effect: a forced delete finds the cgroup of a killed create
      // The config as created: execs get its seccomp filter even if the bundle changes later.
      Files.copy(req.bundle().resolve(CONFIG), store.dir(req.id()).resolve(CONFIG));
      // With a terminal the pty is made inside the container's devpts and its master sent by the
      // helper; otherwise the caller's fds 0-2 (conmon's pipes) become the container's.
      Stdio stdio = config.process().terminal()
          ? Stdio.consoleSocket(req.consoleSocket().toAbsolutePath().toString())
          : Stdio.fds(0, 1, 2);
      DetachedContainer.Handle h = DetachedContainer.create(req.id(), config, stdio, rt,
          store.execFifo(req.id()));
      Map<String, String> dirs = new LinkedHashMap<>();
      h.cgroup().forEach((k, v) -> dirs.put(k, v.toString()));
      s = s.withProcess(h.pid(), h.startTime(), dirs, h.namespaceFlags());
      store.save(s);
      req.debug().accept("created " + req.id() + " pid " + h.pid());
      done = true;
      return new Created(s, null);
    } finally {
      if (!done) {
        store.find(req.id()).ifPresent(s -> destroy(store, s));
        store.remove(req.id());
      }
    }
  }

  @Override
  public void start(ContainerStore store, ContainerState s) {
    DetachedContainer.start(store.execFifo(s.containerId()));
  }

  @Override
  public Status status(ContainerStore store, ContainerState s) {
    if (s.pid() == 0) {
      return Status.CREATING;
    }
    if (!DetachedContainer.isAlive(s.handle())) {
      return Status.STOPPED;
    }
    return Files.exists(store.execFifo(s.containerId())) ? Status.CREATED : Status.RUNNING;
  }

  @Override
  public void signal(ContainerStore store, ContainerState s, int signal, boolean all) {
    if (all) {
      DetachedContainer.signalAll(s.handle(), signal);
    } else if (!DetachedContainer.signal(s.handle(), signal)) {
      throw new LifecycleException("container not running");
    }
  }

  @Override
  public ExecResult exec(ContainerStore store, ContainerState s, ExecRequest req)
      throws IOException {
    ContainerConfig.ProcessConfig pc = SpecValidator.validateProcess(req.process(), "process");
    SeccompFilter seccomp = SpecValidator.bundleSeccomp(createdConfigDirectory(store, s));
    ContainerProcess proc;
    if (pc.terminal()) {
      if (req.consoleSocket() == null) {
        throw new LifecycleException("process.terminal is true but no --console-socket was given");
      }
      try (ConsoleSocket.Pty pty = ConsoleSocket.openPty(TTY_ROWS, TTY_COLS)) {
        proc = DetachedContainer.exec(s.handle(), pc, seccomp,
            Stdio.fds(pty.slave(), pty.slave(), pty.slave()), ContainerRuntime.defaults(), req.detach());
        ConsoleSocket.send(req.consoleSocket().toString(), pty.master());
      }
    } else {
      proc = DetachedContainer.exec(s.handle(), pc, seccomp, Stdio.fds(0, 1, 2),
          ContainerRuntime.defaults(), req.detach());
    }
    if (req.detach()) {
      return new ExecResult.Detached(proc.pid());
    }
    return new ExecResult.Exited(Lifecycle.exitCode(proc.waitFor()));
  }

  /**
   * Where the config.json the container was created from is: the copy a detached create keeps in
   * the store, or {@code cocoon run}'s own bundle, which lives in the store too.
   */
  private static Path createdConfigDirectory(ContainerStore store, ContainerState s) {
    Path dir = store.dir(s.containerId());
    return Files.exists(dir.resolve(CONFIG)) ? dir : dir.resolve(BUNDLE);
  }

  @Override
  public List<Integer> pids(ContainerStore store, ContainerState s) {
    return new ArrayList<>(DetachedContainer.pids(s.handle()));
  }

  @Override
  public Stats stats(ContainerStore store, ContainerState s) {
    CgroupStats c = DetachedContainer.cgroup(s.handle()).stats();
    return new Stats(c.memoryBytes(), c.cpuNanos(), c.pids());
  }

  @Override
  public void destroy(ContainerStore store, ContainerState s) {
    if (s.pid() == 0) {
      // Create died midway: kill whatever joined the recorded cgroup, then remove it.
      DetachedContainer.cgroup(s.handle()).destroy();
    } else {
      DetachedContainer.delete(s.handle());
    }
  }

  @Override
  public int awaitExit(Created created) {
    // The caller made itself a subreaper before create: the container is its child.
    return Lifecycle.exitCode(HostProcesses.waitForChild(created.state().pid()));
  }
}

package run.cocoon.container;

import java.time.Duration;
import java.util.Optional;

/**
 * A container: its init process, created blocked before execve ({@link #create}), released by
 * {@link #start}, and its cgroup. The same code runs on the host (container mode) and inside the
 * guest (VM mode).
 *
 * <pre>{@code
 * ContainerRuntime rt = ContainerRuntime.defaults();
 * ContainerConfig cfg = SpecValidator.validate(OciSpec.read(bundle.resolve("config.json")), bundle);
 * try (Container c = Container.create(new ContainerId("web"), cfg, Stdio.pipes(), rt)) {
 *   c.start();
 *   ExitStatus s = c.waitFor();
 * } // close() = delete(): kill, reap, remove the cgroup
 * }</pre>
 */
public final class Container implements AutoCloseable {
  public enum State { CREATED, RUNNING, STOPPED, DELETED }

  private final ContainerId id;
  private final ContainerConfig config;
  private final ContainerRuntime runtime;
  private final Cgroup cgroup;
  private final ContainerProcess init;
  private final long oomKillsAtCreate;
  private volatile boolean started;
  private volatile boolean deleted;

  private Container(ContainerId id, ContainerConfig config, ContainerRuntime runtime, Cgroup cgroup,
      ContainerProcess init) {
    this.id = id;
    this.config = config;
    this.runtime = runtime;
    this.cgroup = cgroup;
    this.init = init;
    this.oomKillsAtCreate = Math.max(0, cgroup.oomKills());
  }

  /**
   * Creates the container: cgroup, namespaces, mounts, credentials; its process then waits for
   * {@link #start()}. On failure everything created is removed and the exception names the step.
   */
  public static Container create(ContainerId id, ContainerConfig config, Stdio stdio,
      ContainerRuntime runtime) {
    checkTerminal(config.process(), stdio);
    Cgroup cgroup = runtime.cgroups().create(id, config.resources());
    try {
      var plan = PlanBuilder.create(config, cgroup.procsFiles(), runtime.capLastCap(),
          stdio instanceof Stdio.ConsoleSocket cs ? cs.path() : null);
      ContainerProcess init = ContainerProcess.spawn(runtime.helper(), plan, stdio, id.value());
      return new Container(id, config, runtime, cgroup, init);
    } catch (RuntimeException e) {
      try {
        cgroup.destroy();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** With {@link Stdio.Fds} the caller may hand over a terminal (the slave side of its pty). */
  static void checkTerminal(ContainerConfig.ProcessConfig p, Stdio stdio) {
    if (stdio instanceof Stdio.Fds) {
      return;
    }
    if (stdio instanceof Stdio.ConsoleSocket) {
      if (!p.terminal()) {
        throw new IllegalArgumentException("a console socket needs process.terminal: true");
      }
      return;
    }
    if (p.terminal() != stdio instanceof Stdio.Terminal) {
      throw new IllegalArgumentException(p.terminal()
          ? "process.terminal is true: use Stdio.terminal(rows, cols)"
          : "Stdio.Terminal needs process.terminal: true");
    }
  }

  public ContainerId id() {
    return id;
  }

  public ContainerConfig config() {
    return config;
  }

  /** Lets the container's process run its execve; returns once it has. */
  public void start() {
    if (started || deleted) {
      throw new IllegalStateException("container " + id + " is " + state());
    }
    started = true;
    init.start();
  }

  public State state() {
    if (deleted) {
      return State.DELETED;
    }
    if (!init.isAlive()) {
      return State.STOPPED;
    }
    return started ? State.RUNNING : State.CREATED;
  }

  /** The init process's pid on the host (or in the agent's PID namespace, in a guest). */
  public int pid() {
    return init.pid();
  }

  /** The init process: its stdio streams (with {@link Stdio.Pipes}) and exit. */
  public ContainerProcess init() {
    return init;
  }

  public Cgroup cgroup() {
    return cgroup;
  }

  /** Waits for the init process to end; reports whether the OOM killer fired meanwhile. */
  public ExitStatus waitFor() {
    ExitStatus s = init.waitFor();
    return s.withOomKilled(oomKilled());
  }

  public Optional<ExitStatus> waitFor(Duration timeout) {
    return init.waitFor(timeout).map(s -> s.withOomKilled(oomKilled()));
  }

  private boolean oomKilled() {
    return cgroup.oomKills() > oomKillsAtCreate;
  }

  /** Sends a signal to the init process; false if it has ended. */
  public boolean signal(int signal) {
    return init.signal(signal);
  }

  /**
   * Sends a signal to every process in the container's cgroup (init and execs alike); returns
   * how many were signalled.
   */
  public int signalAll(int signal) {
    int n = 0;
    for (int pid : cgroup.pids()) {
      if (Sys.kill(pid, signal)) {
        n++;
      }
    }
    return n;
  }

  /**
   * Runs another process in the running container: its cgroup, its namespaces, the given
   * credentials. Returns once the process has run its execve.
   */
  public ContainerProcess exec(ContainerConfig.ProcessConfig process, Stdio stdio) {
    if (state() != State.RUNNING) {
      throw new IllegalStateException("container " + id + " is " + state() + ", not RUNNING");
    }
    checkTerminal(process, stdio);
    if (stdio instanceof Stdio.ConsoleSocket) {
      throw new IllegalArgumentException("exec takes a terminal as Stdio.terminal or Stdio.fds");
    }
    int flags = config.unshareFlags();
    for (ContainerConfig.NamespaceJoin j : config.joins()) {
      flags |= j.cloneFlag();
    }
    var plan = PlanBuilder.exec(pid(), flags, cgroup.procsFiles(), process, config.seccomp(),
        runtime.capLastCap());
    ContainerProcess p = ContainerProcess.spawn(runtime.helper(), plan, stdio, id + "-exec");
    p.awaitExec();
    return p;
  }

  public CgroupStats stats() {
    return cgroup.stats();
  }

  /**
   * Kills every process of the container, reaps the init process, removes the cgroup. Mounts
   * vanish with the mount namespace. Idempotent.
   */
  public void delete() {
    if (deleted) {
      return;
    }
    init.cancelStart();
    if (init.isAlive()) {
      init.signal(9);
    }
    cgroup.destroy();
    init.waitFor();
    init.close();
    deleted = true;
  }

  @Override
  public void close() {
    delete();
  }
}

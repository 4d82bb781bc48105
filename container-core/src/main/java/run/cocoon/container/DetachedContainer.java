package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import run.cocoon.container.seccomp.SeccompFilter;

/**
 * A container that outlives the program that created it, for a runc-style CLI where create,
 * start, kill and delete are separate processes. Unlike {@link Container}, nothing stays in the
 * creating JVM: the helper's relay leaves once the container process has reported READY, the
 * process (its own session, no parent-death signal) is re-parented to the caller's subreaper
 * (conmon) or init, and waits for start on an exec FIFO (runc's {@code exec.fifo}): a later
 * {@link #start(Path)} writes one byte to it. Everything later calls need is in the {@link Handle},
 * which the caller persists.
 */
public final class DetachedContainer {
  /** How long delete waits for the killed process to disappear. */
  public static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);

  /**
   * What identifies a detached container across program runs: its init pid with the pid's start
   * time (so a reused pid is never signalled), its cgroup directories and namespace flags.
   */
  public record Handle(ContainerId id, int pid, long startTime, Map<String, Path> cgroup,
      int namespaceFlags) {
    public Handle {
      cgroup = Map.copyOf(cgroup);
    }
  }

  private DetachedContainer() {}

  /**
   * Creates the container blocked before execve; returns once it is. {@code execFifo} must not
   * exist: it is made here and stays until {@link #start}. On failure nothing is left (no cgroup,
   * no process, no FIFO).
   */
  public static Handle create(ContainerId id, ContainerConfig config, Stdio stdio,
      ContainerRuntime runtime, Path execFifo) {
    Container.checkTerminal(config.process(), stdio);
    Sys.mkfifo(execFifo.toString(), 0600);
    int fifo = -1;
    Cgroup cgroup = null;
    try {
      // Read-write: open does not block for a writer, and the process waiting on it never sees
      // EOF; start opens it write-only.
      fifo = Sys.open(execFifo.toString(), Sys.O_RDWR | Sys.O_CLOEXEC);
      cgroup = runtime.cgroups().create(id, config.resources());
      List<PlanOp> plan = new ArrayList<>();
      plan.add(new PlanOp.Detach(PlanOp.Detach.AT_READY));
      plan.addAll(PlanBuilder.create(config, cgroup.procsFiles(), runtime.capLastCap(),
          stdio instanceof Stdio.ConsoleSocket cs ? cs.path() : null));
      ContainerProcess init = ContainerProcess.spawn(runtime.helper(), plan, stdio, id.value(), fifo);
      int pid = init.pid();
      // The relay leaves at READY; reap it now so a caller that exits at once leaves no zombie.
      init.waitFor(ContainerProcess.SETUP_TIMEOUT);
      init.close();
      long start = HostProcesses.startTime(pid)
          .orElseThrow(() -> new SpawnException("create", Sys.ESRCH, 0, "process " + pid + " vanished"));
      int flags = config.unshareFlags();
      for (ContainerConfig.NamespaceJoin j : config.joins()) {
        flags |= j.cloneFlag();
      }
      return new Handle(id, pid, start, cgroup.directories(), flags);
    } catch (RuntimeException e) {
      if (cgroup != null) {
        try {
          cgroup.destroy();
        } catch (RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      try {
        Files.deleteIfExists(execFifo);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    } finally {
      Sys.closeQuietly(fifo);
    }
  }

  /**
   * Releases a created container: writes to its exec FIFO and removes it. Throws
   * {@link IllegalStateException} if nothing waits on the FIFO (the process has ended) or it is
   * missing (already started).
   */
  public static void start(Path execFifo) {
    if (!Files.exists(execFifo)) {
      throw new IllegalStateException("cannot start a container that has already started");
    }
    int fd;
    try {
      fd = Sys.open(execFifo.toString(), Sys.O_WRONLY | Sys.O_NONBLOCK | Sys.O_CLOEXEC);
    } catch (NativeCallException e) {
      if (e.errno() == Sys.ENXIO) {
        throw new IllegalStateException("cannot start a container that has stopped");
      }
      throw e;
    }
    try {
      Sys.writeFully(fd, new byte[] {'0'});
    } finally {
      Sys.closeQuietly(fd);
    }
    try {
      Files.deleteIfExists(execFifo);
    } catch (IOException e) {
      throw new IllegalStateException("cannot remove " + execFifo + ": " + e, e);
    }
  }

  /** Whether the container's init process still runs (a zombie counts as ended). */
  public static boolean isAlive(Handle h) {
    return HostProcesses.isAlive(h.pid(), h.startTime());
  }

  /**
   * Signals the init process; false if it has ended. The pid is pinned with a pidfd first and
   * then checked against the recorded start time, so a reused pid is never hit.
   */
  public static boolean signal(Handle h, int signal) {
    int pidfd = Sys.pidfdOpen(h.pid());
    if (pidfd < 0) {
      return false;
    }
    try {
      return HostProcesses.isAlive(h.pid(), h.startTime()) && Sys.pidfdSignal(pidfd, signal);
    } finally {
      Sys.closeQuietly(pidfd);
    }
  }

  /** Signals every process in the container's cgroup (runc's {@code kill --all}). */
  public static void signalAll(Handle h, int signal) {
    for (int pid : cgroup(h).pids()) {
      Sys.kill(pid, signal);
    }
  }

  /** Pids in the container's cgroup. */
  public static Set<Integer> pids(Handle h) {
    return cgroup(h).pids();
  }

  public static Cgroup cgroup(Handle h) {
    return Cgroup.reopen(h.cgroup());
  }

  /**
   * Runs another process in the running container. Attached ({@code detach} false): the returned
   * process reports its exit like {@link Container#exec}. Detached: the relay leaves once execve
   * ran, the process outlives the caller; only its pid is meaningful. {@code seccomp} is the
   * container's filter ({@link SpecValidator#bundleSeccomp}), null when it has none.
   */
  public static ContainerProcess exec(Handle h, ContainerConfig.ProcessConfig process,
      SeccompFilter seccomp, Stdio stdio, ContainerRuntime runtime, boolean detach) {
    if (!isAlive(h)) {
      throw new IllegalStateException("container " + h.id() + " is not running");
    }
    Container.checkTerminal(process, stdio);
    if (stdio instanceof Stdio.ConsoleSocket) {
      throw new IllegalArgumentException("exec takes a terminal as Stdio.terminal or Stdio.fds");
    }
    List<PlanOp> plan = new ArrayList<>();
    if (detach) {
      plan.add(new PlanOp.Detach(PlanOp.Detach.AT_EXEC));
    }
    plan.addAll(PlanBuilder.exec(h.pid(), h.namespaceFlags(), cgroup(h).procsFiles(), process,
        seccomp, runtime.capLastCap()));
    ContainerProcess p = ContainerProcess.spawn(runtime.helper(), plan, stdio, h.id() + "-exec");
    p.awaitExec();
    return p;
  }

  /**
   * Kills the container (init first: its PID namespace takes the rest along), waits for the
   * init process to disappear and removes the cgroup. Idempotent; the exec FIFO is the caller's.
   */
  public static void delete(Handle h) {
    signal(h, 9);
    if (!HostProcesses.awaitExit(h.pid(), h.startTime(), KILL_TIMEOUT)) {
      throw new SpawnException("delete", 0, 0, "process " + h.pid() + " still alive after SIGKILL");
    }
    cgroup(h).destroy();
  }
}

package run.cocoon.container;

import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process started by the cocoon-spawn helper from a plan: a container's init process or a
 * process exec'd into a running container. The helper stays as the process's parent (a relay
 * that reports its exit status); this object reads the helper's reports on a platform thread and
 * reaps the helper.
 */
public final class ContainerProcess implements AutoCloseable {
  /** How long plan setup (everything up to READY) may take before it is considered hung. */
  public static final Duration SETUP_TIMEOUT = Duration.ofSeconds(30);

  private static final int K_PID = 1;
  private static final int K_ERROR = 2;
  private static final int K_READY = 3;
  private static final int K_EXEC_OK = 4;
  private static final int K_EXITED = 5;
  private static final int REPORT_BYTES = 16;

  private final int helperPid;
  /** The plan the helper runs, to explain a failed step in the container's terms (null: unknown). */
  private final List<PlanOp> plan;
  private final CompletableFuture<Integer> pid = new CompletableFuture<>();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final CompletableFuture<Void> execOk = new CompletableFuture<>();
  private final CompletableFuture<Integer> waitStatus = new CompletableFuture<>();
  private final OutputStream stdin;
  private final InputStream stdout;
  private final InputStream stderr;
  private volatile int startFd;
  /** A pidfd for the process, so a signal never reaches a recycled pid; -1 if unavailable. */
  private int pidfd = -1;
  private boolean reaped;

  private ContainerProcess(int helperPid, int statusFd, int startFd, OutputStream stdin,
      InputStream stdout, InputStream stderr, String name, List<PlanOp> plan) {
    this.plan = plan;
    this.helperPid = helperPid;
    this.startFd = startFd;
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    Thread t = Thread.ofPlatform().daemon().name("cocoon-spawn-" + name + "-" + helperPid)
        .start(() -> readReports(statusFd));
    t.setUncaughtExceptionHandler((th, e) -> fail(e));
  }

  /**
   * Runs the helper with {@code plan} and waits until the plan reports READY (set up, blocked
   * before execve if the plan waits for start). Throws {@link SpawnException} naming the failed
   * step; in that case the helper and its child are gone.
   */
  static ContainerProcess spawn(Path helper, List<PlanOp> plan, Stdio stdio, String name) {
    return spawnEncoded(helper, PlanEncoder.encode(plan), plan, stdio, name, -1);
  }

  /**
   * {@link #spawn} where the helper's start fd is {@code startFd} (an exec FIFO opened
   * read-write: a later, separate process starts the container by writing to the FIFO).
   * {@code startFd} stays the caller's.
   */
  static ContainerProcess spawn(Path helper, List<PlanOp> plan, Stdio stdio, String name,
      int startFd) {
    return spawnEncoded(helper, PlanEncoder.encode(plan), plan, stdio, name, startFd);
  }

  /** {@link #spawn} with an already encoded plan (tests feed the helper corrupt ones). */
  static ContainerProcess spawnEncoded(Path helper, byte[] encoded, Stdio stdio, String name) {
    return spawnEncoded(helper, encoded, null, stdio, name, -1);
  }

  private static ContainerProcess spawnEncoded(Path helper, byte[] encoded, List<PlanOp> plan,
      Stdio stdio, String name, int externalStartFd) {
    List<Integer> childSide = new ArrayList<>(); // closed here once the helper has them
    List<Integer> ourSide = new ArrayList<>();   // closed here only if the spawn fails
    ContainerProcess p = null;
    try {
      int[] planPipe = pipe(childSide, ourSide);
      int[] statusPipe = Sys.pipe(); // the child writes this one
      ourSide.add(statusPipe[0]);
      childSide.add(statusPipe[1]);
      int[] startPipe = externalStartFd >= 0 ? new int[] {externalStartFd, -1}
          : pipe(childSide, ourSide);
      int[] childFds = new int[6];
      int stdinW = -1;
      int stdoutR = -1;
      int stderrR = -1;
      switch (stdio) {
        case Stdio.Pipes x -> {
          int[] in = pipe(childSide, ourSide);
          int[] out = Sys.pipe();
          ourSide.add(out[0]);
          childSide.add(out[1]);
          int[] err = Sys.pipe();
          ourSide.add(err[0]);
          childSide.add(err[1]);
          childFds[0] = in[0];
          childFds[1] = out[1];
          childFds[2] = err[1];
          stdinW = in[1];
          stdoutR = out[0];
          stderrR = err[0];
        }
        case Stdio.Terminal t -> {
          int[] pty = Sys.openPty(t.rows(), t.cols());
          ourSide.add(pty[0]);
          childSide.add(pty[1]);
          stdinW = Sys.dup(pty[0]); // we write and read the master; the child gets the slave
          ourSide.add(stdinW);
          stdoutR = pty[0];
          childFds[0] = pty[1];
          childFds[1] = pty[1];
          childFds[2] = pty[1];
        }
        case Stdio.ConsoleSocket c -> {
          // stdio until the plan's CONSOLE step puts the pty slave there
          int devNull = Sys.open("/dev/null", Sys.O_RDWR | Sys.O_CLOEXEC);
          childSide.add(devNull);
          childFds[0] = devNull;
          childFds[1] = devNull;
          childFds[2] = devNull;
        }
        case Stdio.Fds f -> {
          childFds[0] = f.stdin();
          childFds[1] = f.stdout();
          childFds[2] = f.stderr();
        }
      }
      childFds[3] = planPipe[0];
      childFds[4] = statusPipe[1];
      childFds[5] = startPipe[0];
      int helperPid = SpawnedChildren.current()
          .spawn(() -> Sys.spawn(helper.toString(), List.of(helper.toString()), childFds));
      closeAll(childSide);
      try {
        Sys.writeFully(planPipe[1], encoded);
      } catch (NativeCallException e) {
        // The helper died before reading its plan; its status report says why.
      }
      Sys.closeQuietly(planPipe[1]);
      ourSide.clear(); // from here on the process object owns them
      p = new ContainerProcess(helperPid, statusPipe[0], startPipe[1],
          stdinW < 0 ? null : new FdStreams.Out(stdinW),
          stdoutR < 0 ? null : new FdStreams.In(stdoutR, stdio instanceof Stdio.Terminal),
          stderrR < 0 ? null : new FdStreams.In(stderrR), name, plan);
      p.await(p.ready, SETUP_TIMEOUT, "setup");
      return p;
    } catch (RuntimeException e) {
      closeAll(childSide);
      closeAll(ourSide);
      if (p != null) {
        p.close();
      }
      throw e;
    }
  }

  /** A pipe whose read end goes to the child. */
  private static int[] pipe(List<Integer> childSide, List<Integer> ourSide) {
    int[] p = Sys.pipe();
    childSide.add(p[0]);
    ourSide.add(p[1]);
    return p;
  }

  private static void closeAll(List<Integer> fds) {
    for (int fd : fds) {
      Sys.closeQuietly(fd);
    }
    fds.clear();
  }

  private void readReports(int statusFd) {
    Integer exitedStatus = null;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(REPORT_BYTES);
      ValueLayout.OfInt le = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
      for (;;) {
        int got = 0;
        while (got < REPORT_BYTES) {
          int n = Sys.read(statusFd, buf.asSlice(got), REPORT_BYTES - got);
          if (n == 0) {
            break;
          }
          got += n;
        }
        if (got < REPORT_BYTES) {
          break;
        }
        int kind = buf.get(le, 0);
        int step = buf.get(le, 4);
        int errno = buf.get(le, 8);
        int value = buf.get(le, 12);
        switch (kind) {
          case K_PID -> {
            synchronized (this) {
              pidfd = Sys.pidfdOpen(value);
            }
            pid.complete(value);
          }
          case K_READY -> ready.complete(null);
          case K_EXEC_OK -> execOk.complete(null);
          case K_ERROR -> fail(new SpawnException(PlanOp.stepName(step), errno, value, null,
              PlanOp.failureHeadline(plan, value, errno)));
          case K_EXITED -> exitedStatus = value;
          default -> fail(new SpawnException("relay", 0, 0, "unknown report kind " + kind));
        }
      }
    } finally {
      Sys.closeQuietly(statusFd);
      int helperStatus = Sys.waitpid(helperPid);
      SpawnedChildren.current().reaped(helperPid);
      SpawnException gone = new SpawnException("helper", 0, 0,
          "exited before the process ran, wait status " + helperStatus);
      fail(gone);
      Sys.closeQuietly(startFd);
      startFd = -1;
      synchronized (this) {
        Sys.closeQuietly(pidfd);
        pidfd = -1;
        reaped = true;
      }
      // Completed only now, so that a finished wait means the helper is reaped too.
      waitStatus.complete(exitedStatus != null ? exitedStatus : helperStatus);
    }
  }

  private void fail(Throwable e) {
    pid.completeExceptionally(e);
    ready.completeExceptionally(e);
    execOk.completeExceptionally(e);
  }

  private <T> T await(CompletableFuture<T> f, Duration timeout, String what) {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new SpawnException(what, 0, 0, e.getCause().toString());
    } catch (TimeoutException e) {
      Sys.kill(helperPid, 9);
      throw new SpawnException(what, 0, 0, "timed out after " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SpawnException(what, 4, 0, "interrupted");
    }
  }

  /** Lets a process created by a plan with WAIT_START run its execve; waits until it did. */
  void start() {
    int fd = startFd;
    if (fd < 0) {
      throw new IllegalStateException("already started or gone");
    }
    Sys.writeFully(fd, new byte[] {'S'});
    Sys.closeQuietly(fd);
    startFd = -1;
    await(execOk, SETUP_TIMEOUT, "start");
  }

  /** For plans without WAIT_START: waits for the execve to have happened. */
  void awaitExec() {
    int fd = startFd;
    startFd = -1;
    Sys.closeQuietly(fd);
    await(execOk, SETUP_TIMEOUT, "exec");
  }

  /** Cancels a created process that was never started (its WAIT_START sees EOF). */
  void cancelStart() {
    int fd = startFd;
    startFd = -1;
    Sys.closeQuietly(fd);
  }

  /** The process's pid on the host (in the caller's PID namespace). */
  public int pid() {
    return await(pid, SETUP_TIMEOUT, "pid");
  }

  /** The pid of the helper that is this process's parent. */
  public int helperPid() {
    return helperPid;
  }

  public boolean isAlive() {
    return !waitStatus.isDone();
  }

  /** Waits for the process to end; the status carries no OOM information at this level. */
  public ExitStatus waitFor() {
    try {
      return ExitStatus.fromWaitStatus(waitStatus.get(), false);
    } catch (ExecutionException e) {
      throw new SpawnException("wait", 0, 0, e.getCause().toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SpawnException("wait", 4, 0, "interrupted");
    }
  }

  /** Waits up to {@code timeout}; empty if the process still runs. */
  public Optional<ExitStatus> waitFor(Duration timeout) {
    try {
      return Optional.of(ExitStatus.fromWaitStatus(
          waitStatus.get(timeout.toMillis(), TimeUnit.MILLISECONDS), false));
    } catch (TimeoutException e) {
      return Optional.empty();
    } catch (ExecutionException e) {
      throw new SpawnException("wait", 0, 0, e.getCause().toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Sends a signal to the process; false if it has already ended. */
  public boolean signal(int signal) {
    if (!isAlive()) {
      return false;
    }
    int p = pid();
    synchronized (this) {
      if (reaped) {
        return false;
      }
      if (pidfd >= 0) {
        return Sys.pidfdSignal(pidfd, signal);
      }
      return Sys.kill(p, signal);
    }
  }

  /** Whether signals go through a pidfd (kernels since 5.3). */
  synchronized boolean signalsThroughPidfd() {
    return pidfd >= 0;
  }

  /** The process's stdin (with {@link Stdio.Pipes}); null otherwise. */
  public OutputStream stdin() {
    return stdin;
  }

  /** The process's stdout (with {@link Stdio.Pipes}); null otherwise. */
  public InputStream stdout() {
    return stdout;
  }

  /** The process's stderr (with {@link Stdio.Pipes}); null otherwise. */
  public InputStream stderr() {
    return stderr;
  }

  /** Closes this side's stdio pipes (does not signal the process). */
  @Override
  public void close() {
    for (AutoCloseable c : new AutoCloseable[] {stdin, stdout, stderr}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // closing a pipe fd cannot fail in a way worth reporting
        }
      }
    }
  }
}

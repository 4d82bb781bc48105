package run.cocoon.agent.guest;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Reaps the zombies of PID 1 that nobody else will: orphans re-parented to the agent, and any
 * child not recorded in {@link ChildProcesses}. Recorded children are left to their owner.
 *
 * <p>How: {@code waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)} peeks at one zombie child without
 * reaping it. If it is not recorded, {@code waitid(P_PID, pid)} reaps exactly that one (under the
 * spawn lock, see {@link ChildProcesses}). If it is recorded, its owner is about to reap it, and the
 * peek would keep returning it and hide the zombies behind it; so the reaper then finds the other
 * zombie children in {@code /proc} ({@code State: Z}, parent = this process) and reaps the
 * unrecorded ones by pid. When nothing is waiting it sleeps {@link #IDLE_POLL_MILLIS} (a wake per
 * interval costs one system call); an owner releasing a pid wakes it at once.
 *
 * <p>Why polling and not a blocking wait or SIGCHLD: a blocking {@code waitid} cannot be stopped
 * cleanly and returns at once, over and over, while a recorded zombie waits for its owner; Java
 * code cannot install a SIGCHLD handler, and a signalfd would need the signal blocked in every JVM
 * thread. An orphan therefore stays a zombie for at most one interval, which costs nothing but a
 * process table slot.
 */
public final class OrphanReaper implements AutoCloseable {
  /** Longest time an orphan stays a zombie when the reaper has nothing else to do. */
  public static final long IDLE_POLL_MILLIS = 200;
  /** Pause while a recorded child's zombie waits for its owner. */
  static final long OWNED_WAIT_MILLIS = 5;

  private final ChildProcesses children;
  private final long self = ProcessHandle.current().pid();
  private final AtomicLong reaped = new AtomicLong();
  private final Thread thread;
  private volatile boolean stopped;

  private OrphanReaper(ChildProcesses children) {
    this.children = children;
    this.thread = Thread.ofPlatform().daemon().name("cocoon-reaper").unstarted(this::run);
    children.onRelease(() -> LockSupport.unpark(thread));
  }

  /** Starts reaping on its own platform thread (it makes blocking-free native calls only). */
  public static OrphanReaper start(ChildProcesses children) {
    OrphanReaper reaper = new OrphanReaper(children);
    reaper.thread.start();
    return reaper;
  }

  /** How many zombies this reaper has reaped. */
  public long reapedCount() {
    return reaped.get();
  }

  private void run() {
    while (!stopped) {
      try {
        long pause = reapOnce();
        if (pause > 0) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause));
        }
      } catch (RuntimeException e) {
        AgentConsole.log("reaper: " + e.getMessage());
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(IDLE_POLL_MILLIS));
      }
    }
  }

  /** One step; returns how long to pause before the next (0: go on at once). */
  long reapOnce() {
    GuestLibc.ChildState zombie = GuestLibc.waitid(GuestLibc.P_ALL, 0,
        GuestLibc.WEXITED | GuestLibc.WNOWAIT);
    if (zombie == null) {
      return IDLE_POLL_MILLIS;
    }
    if (reap(zombie.pid())) {
      return 0;
    }
    // A recorded child is at the head of the queue: look behind it.
    for (int pid : zombieChildren()) {
      reap(pid);
    }
    return OWNED_WAIT_MILLIS;
  }

  private boolean reap(int pid) {
    GuestLibc.ChildState state = children.reapIfUnowned(pid);
    if (state != null) {
      reaped.incrementAndGet();
      return true;
    }
    return false;
  }

  /** Pids of this process's children that are zombies, from {@code /proc/<pid>/stat}. */
  List<Integer> zombieChildren() {
    List<Integer> pids = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path p : dir) {
        String stat;
        try {
          stat = Files.readString(p.resolve("stat"));
        } catch (NoSuchFileException gone) {
          continue;
        }
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
        String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
        if (rest[0].equals("Z") && Long.parseLong(rest[1]) == self) {
          pids.add(Integer.parseInt(p.getFileName().toString()));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc: " + e.getMessage(), e);
    }
    return pids;
  }

  /** Stops the thread and waits for it. */
  @Override
  public void close() throws InterruptedException {
    stopped = true;
    LockSupport.unpark(thread);
    thread.join();
  }
}

package run.cocoon.agent.guest;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToLongFunction;

/**
 * The registry of processes the agent started and reaps itself; the {@link OrphanReaper} reaps
 * every other child of PID 1 and leaves these alone.
 *
 * <p>Why a registry: as PID 1 the agent inherits every orphan in the guest, and their zombies must
 * be reaped. But the JDK reaps the processes it starts with {@code waitpid(pid)} on its own
 * "process reaper" thread; a blanket {@code waitpid(-1)} would steal their exit statuses (the JDK
 * would then see ECHILD). So every process the agent starts goes through {@link #start}, which
 * records its pid.
 *
 * <p>The start race: a child can exit (and become a zombie) before its pid is known and recorded.
 * So a start holds the spawn lock from before the fork until the pid is recorded, and the reaper
 * takes the same lock to re-check ownership right before it reaps. A zombie the reaper sees
 * unrecorded while holding the lock cannot belong to a start in progress.
 */
public final class ChildProcesses {
  /** Creates a child; may throw {@code E}. */
  @FunctionalInterface
  public interface Spawn<T, E extends Exception> {
    T spawn() throws E;
  }

  private final ReentrantLock spawnLock = new ReentrantLock();
  private final Set<Long> owned = ConcurrentHashMap.newKeySet();
  private volatile Runnable onRelease = () -> {};

  /** Starts {@code builder}'s process; the JDK reaps it, and its pid is released when it has. */
  public Process start(ProcessBuilder builder) throws IOException {
    Process process = start(builder::start, Process::pid);
    // onExit completes after the JDK's waitpid returned: only then is the pid free to reap again.
    process.onExit().whenComplete((p, e) -> release(process.pid()));
    return process;
  }

  /**
   * Runs a spawner other than {@link ProcessBuilder} (for example a native helper) so that its
   * child is recorded before the reaper can see it. The caller reaps that child itself, with a
   * wait for its own pid, and then calls {@link #release}.
   */
  public <T, E extends Exception> T start(Spawn<T, E> spawn, ToLongFunction<T> pidOf) throws E {
    spawnLock.lock();
    try {
      T child = spawn.spawn();
      owned.add(pidOf.applyAsLong(child));
      return child;
    } finally {
      spawnLock.unlock();
    }
  }

  /** The owner has reaped {@code pid}. */
  public void release(long pid) {
    owned.remove(pid);
    onRelease.run();
  }

  /** Whether {@code pid} is a recorded child that its owner has not reaped yet. */
  public boolean owns(long pid) {
    return owned.contains(pid);
  }

  /** Called after every {@link #release} (the reaper wakes up: a zombie it waited behind is gone). */
  void onRelease(Runnable action) {
    this.onRelease = action;
  }

  /**
   * Reaps {@code pid} if it is an unowned zombie child; returns how it ended, or null (owned,
   * still running, or not a child).
   */
  GuestLibc.ChildState reapIfUnowned(int pid) {
    spawnLock.lock();
    try {
      return owned.contains((long) pid) ? null : GuestLibc.waitid(GuestLibc.P_PID, pid, GuestLibc.WEXITED);
    } finally {
      spawnLock.unlock();
    }
  }
}

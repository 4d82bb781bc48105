package run.cocoon.shim.lifecycle;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import run.cocoon.container.ContainerId;
import run.cocoon.container.ExitStatus;

/**
 * One container's life, whatever isolates it: create, start, state, attach and wait (in
 * {@link #run} and {@link #awaitExit}), signal, exec, stats and delete. {@code cocoon} and
 * {@code cocoon-runtime} go through this interface only; {@link HostLifecycle} (namespaces and
 * cgroups on the host kernel) and {@link VmLifecycle} (the container inside its own microVM) are
 * the two isolations. Every call after create takes the container's {@link ContainerState} from
 * the one {@link ContainerStore}, so a container created by one process is reached by any other.
 */
public sealed interface Lifecycle permits HostLifecycle, VmLifecycle {
  /** The annotation (and image label) a bundle or image uses to ask for an isolation. */
  String ANNOTATION = "run.cocoon.isolation";

  /** The name used by --isolation, COCOON_ISOLATION and {@link #ANNOTATION}. */
  String name();

  /** Throws {@link IsolationUnavailableException} if this isolation cannot run here. */
  void checkAvailable();

  /**
   * Runs a container in the foreground: creates and starts it, attaches the caller's stdio as the
   * request says, forwards signals, records it in the store once it runs (through {@code hooks}),
   * and returns once it has ended and its resources are released.
   */
  ExitStatus run(RunRequest request, RunHooks hooks);

  /**
   * Creates a container that outlives this process, blocked before its command until
   * {@link #start}; records it in {@code store}. Every refusal that needs no side effect comes
   * before the id is claimed; on failure nothing is left.
   */
  Created create(ContainerStore store, CreateRequest request) throws IOException;

  /** Lets a created container's process run its command. */
  void start(ContainerStore store, ContainerState state);

  Status status(ContainerStore store, ContainerState state);

  /** Signals the container's init process ({@code all}: every process of the container). */
  void signal(ContainerStore store, ContainerState state, int signal, boolean all);

  /** Runs one more process in the running container. */
  ExecResult exec(ContainerStore store, ContainerState state, ExecRequest request)
      throws IOException;

  /** Host pids that hold the container's processes (a VM's: the process that runs the VM). */
  List<Integer> pids(ContainerStore store, ContainerState state);

  Stats stats(ContainerStore store, ContainerState state);

  /**
   * Ends the container at once if anything of it still runs, waits until it is gone and releases
   * what it held on the host (cgroup, VM). Also cleans up after a create that was killed midway
   * ({@code state} empty or with pid 0). The store entry stays; {@link #delete} removes it.
   */
  void destroy(ContainerStore store, ContainerState state);

  /** Waits for a container this process created (and so may wait for) to end. */
  int awaitExit(Created created) throws IOException;

  /**
   * Removes a container whose create was killed before it recorded any state, with what such a
   * create may have started (a VM keeper records itself before the state names it).
   */
  static void deleteUnrecorded(ContainerStore store, ContainerId id)
      throws IOException {
    VmLifecycle.destroyUnrecorded(store, id);
    store.remove(id);
  }

  /** Ends the container if needed and removes it from the store. */
  default void delete(ContainerStore store, ContainerState state) throws IOException {
    destroy(store, state);
    store.remove(state.containerId());
  }

  /**
   * SIGTERM, then SIGKILL once {@code grace} has passed; returns once the container has stopped.
   * A container that is not running is left alone.
   */
  default void stop(ContainerStore store, ContainerState state, Duration grace) {
    if (!status(store, state).alive()) {
      return;
    }
    signal(store, state, Signals.SIGTERM, false);
    long deadline = System.nanoTime() + grace.toNanos();
    while (System.nanoTime() < deadline) {
      if (!status(store, state).alive()) {
        return;
      }
      try {
        Thread.sleep(STOP_POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    destroy(store, state);
  }

  /** Pause between looks at a stopping container. */
  long STOP_POLL_MILLIS = 50;

  static Lifecycle named(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case HostLifecycle.NAME -> new HostLifecycle();
      case VmLifecycle.NAME -> new VmLifecycle();
      default -> throw new IllegalArgumentException(
          "unknown isolation '" + name + "' (expected container or vm)");
    };
  }

  /** The lifecycle of a recorded container. */
  static Lifecycle of(ContainerState state) {
    return named(state.isolation() == null ? HostLifecycle.NAME : state.isolation());
  }

  /** A created container, and (in the creating process) a handle to wait for it. */
  record Created(ContainerState state, Process vmHost) {}

  /** How an exec ended: its exit code, or (detached) the host pid it runs as. */
  sealed interface ExecResult {
    record Exited(int code) implements ExecResult {}

    record Detached(int pid) implements ExecResult {}
  }

  /** Resource use of a container (a VM's as its guest sees it). */
  record Stats(long memoryBytes, long cpuNanos, long pids) {}

  /** The exit code a shell would report for this status (128 + signal for a signal). */
  static int exitCode(ExitStatus st) {
    return switch (st) {
      case ExitStatus.Exited e -> e.code();
      case ExitStatus.Signaled s -> 128 + s.signal();
    };
  }
}

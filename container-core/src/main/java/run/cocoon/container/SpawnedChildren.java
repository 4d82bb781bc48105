package run.cocoon.container;

import java.util.Objects;
import java.util.function.IntSupplier;

/**
 * Tells a process that reaps children it does not know (PID 1 in the guest reaps every orphan)
 * which children are the container library's own: helper processes are reaped by their
 * {@link ContainerProcess}, and a blanket reaper must leave them alone or it steals their exit
 * status. Outside the guest nothing needs installing.
 */
public interface SpawnedChildren {
  /** Runs {@code spawn} (which returns a new child's pid) so that the pid is recorded at once. */
  int spawn(IntSupplier spawn);

  /** The library has reaped {@code pid}. */
  void reaped(int pid);

  /** Records nothing. */
  SpawnedChildren UNTRACKED = new SpawnedChildren() {
    @Override
    public int spawn(IntSupplier spawn) {
      return spawn.getAsInt();
    }

    @Override
    public void reaped(int pid) {}
  };

  /** Installs the process-wide tracker (once, before any container is made). */
  static void install(SpawnedChildren tracker) {
    Holder.current = Objects.requireNonNull(tracker);
  }

  static SpawnedChildren current() {
    return Holder.current;
  }

  /** The installed tracker. */
  final class Holder {
    private static volatile SpawnedChildren current = UNTRACKED;

    private Holder() {}
  }
}

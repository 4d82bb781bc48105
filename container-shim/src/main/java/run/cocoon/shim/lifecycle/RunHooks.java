package run.cocoon.shim.lifecycle;

import java.util.Map;

/**
 * Callbacks from an {@link Isolation} to the caller's bookkeeping: once the container runs
 * (with what later {@code ps}/{@code exec}/{@code kill} from other processes need to reach it),
 * and nothing else; the exit status is the return value of {@link Isolation#run}.
 */
public interface RunHooks {
  /**
   * The container's init process runs. {@code pid} and {@code startTime} identify it on the host
   * (0 when it is not a host process, e.g. inside a VM), {@code cgroup} its cgroup directories
   * and {@code namespaceFlags} the namespaces an exec joins.
   */
  void started(int pid, long startTime, Map<String, String> cgroup, int namespaceFlags);

  RunHooks NONE = (pid, startTime, cgroup, flags) -> {};
}

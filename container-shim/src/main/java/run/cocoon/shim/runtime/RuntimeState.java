package run.cocoon.shim.runtime;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;

/**
 * What {@code cocoon-runtime} records about one container in {@code <root>/<id>/state.json}.
 * {@code pid} 0 means create has not finished (or was killed midway); the cgroup directories are
 * recorded before anything is created, so {@code delete --force} can clean up after such a create.
 */
public record RuntimeState(
    String ociVersion,
    String id,
    String bundle,
    String rootfs,
    int pid,
    long startTime,
    String created,
    Map<String, String> cgroup,
    int namespaceFlags,
    Map<String, String> annotations,
    String isolation) {

  public RuntimeState {
    cgroup = cgroup == null ? Map.of() : Map.copyOf(cgroup);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  RuntimeState withProcess(int pid, long startTime) {
    return new RuntimeState(ociVersion, id, bundle, rootfs, pid, startTime, created, cgroup,
        namespaceFlags, annotations, isolation);
  }

  DetachedContainer.Handle handle() {
    Map<String, Path> dirs = new HashMap<>();
    cgroup.forEach((k, v) -> dirs.put(k, Path.of(v)));
    return new DetachedContainer.Handle(new ContainerId(id), pid, startTime, dirs, namespaceFlags);
  }
}

package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;

/**
 * What is recorded about one container in {@code <store>/<id>/state.json}, for every front end
 * and both isolations.
 *
 * <p>{@code pid} and {@code startTime} name the host process that holds the container: its init
 * process in container isolation, the process running its VM in VM isolation. {@code pid} 0 means
 * create has not finished (or was killed midway); the cgroup directories are recorded before
 * anything is created, so a forced delete can clean up after such a create. {@code exitCode} is
 * null until a front end that waited for the container recorded how it ended.
 */
public record ContainerState(
    String ociVersion,
    String id,
    String isolation,
    String bundle,
    String rootfs,
    String image,
    List<String> command,
    String created,
    int pid,
    long startTime,
    Map<String, String> cgroup,
    int namespaceFlags,
    Map<String, String> annotations,
    Integer exitCode) {

  /** The OCI runtime spec version the state and the runtime's answers follow. */
  public static final String OCI_VERSION = "1.0.2";

  public ContainerState {
    command = command == null ? List.of() : List.copyOf(command);
    cgroup = cgroup == null ? Map.of() : Map.copyOf(cgroup);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  /** A container about to be created: nothing runs yet. */
  public static ContainerState creating(ContainerId id, String isolation, Path bundle,
      Path rootfs, String image, List<String> command, String created,
      Map<String, String> cgroup, Map<String, String> annotations) {
    return new ContainerState(OCI_VERSION, id.value(), isolation, bundle.toString(),
        rootfs.toString(), image, command, created, 0, 0, cgroup, 0, annotations, null);
  }

  public ContainerId containerId() {
    return new ContainerId(id);
  }

  /** The host process that holds the container exists. */
  public ContainerState withProcess(int pid, long startTime, Map<String, String> cgroup,
      int namespaceFlags) {
    return new ContainerState(ociVersion, id, isolation, bundle, rootfs, image, command, created,
        pid, startTime, cgroup, namespaceFlags, annotations, null);
  }

  /** How the container ended, as its waiter saw it. */
  public ContainerState exited(int code) {
    return new ContainerState(ociVersion, id, isolation, bundle, rootfs, image, command, created,
        pid, startTime, cgroup, namespaceFlags, annotations, code);
  }

  /** The holding process as container-core addresses a detached container. */
  public DetachedContainer.Handle handle() {
    Map<String, Path> dirs = new HashMap<>();
    cgroup.forEach((k, v) -> dirs.put(k, Path.of(v)));
    return new DetachedContainer.Handle(containerId(), pid, startTime, dirs, namespaceFlags);
  }
}

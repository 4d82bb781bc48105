package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import run.cocoon.container.ContainerId;
import run.cocoon.container.OciSpec;

/**
 * One container to run, as both isolations need it.
 *
 * @param id the container id (also its directory name under the state root)
 * @param bundle the OCI bundle directory; {@code config.json} there is {@code spec}
 * @param spec the OCI spec the shim built (process, mounts, namespaces, resources, annotations);
 *     its {@code root.path} is where a container-mode rootfs is mounted
 * @param stateDir the container's own directory (rootfs overlay upper/work, logs)
 * @param imageRootfs the image's unpacked rootfs (the overlay's lower layer in container mode)
 * @param imageDisk the image as a read-only ext4 disk, built on first call (VM mode)
 * @param stdio how the caller's terminal or streams are attached
 * @param resources --cpus and --memory as given
 * @param volumes host directories shared into the container (also bind mounts in {@code spec})
 * @param network "none" or "tap"
 * @param remove --rm: delete the container's state when it ends
 * @param logFile where the container's output is copied for {@code cocoon logs} (null: not kept)
 */
public record RunRequest(
    ContainerId id,
    Path bundle,
    OciSpec spec,
    Path stateDir,
    Path imageRootfs,
    Supplier<Path> imageDisk,
    StdioMode stdio,
    Resources resources,
    List<Volume> volumes,
    String network,
    boolean remove,
    Path logFile) {

  public RunRequest {
    volumes = List.copyOf(volumes);
  }

  /** -i and -t. */
  public record StdioMode(boolean interactive, boolean tty) {}

  /** {@code cpus} (0 = no limit) and {@code memoryBytes} (0 = no limit). */
  public record Resources(double cpus, long memoryBytes) {}

  public record Volume(Path hostPath, String containerPath, boolean readOnly) {}
}

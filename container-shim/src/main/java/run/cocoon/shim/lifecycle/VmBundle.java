package run.cocoon.shim.lifecycle;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import run.cocoon.container.OciSpec;

/**
 * A runtime bundle's config.json turned into what the guest can carry out. The guest has no view
 * of the host's files, so host bind mounts cannot be made there; engines add a few anyway (podman:
 * {@code /etc/hosts}, {@code /etc/hostname}, {@code /run/.containerenv}, {@code /dev/shm}):
 * <ul>
 *   <li>a bind of a regular file is copied into the rootfs disk at its destination (a snapshot
 *   taken at create; the container's writes stay in the guest),
 *   <li>a bind onto {@code /dev/shm} becomes a private tmpfs (what it is for a private IPC
 *   namespace),
 *   <li>any other bind (a directory: a volume) is refused with a clear error, never dropped.
 * </ul>
 *
 * @param guestSpec the spec the agent gets (mounts rewritten)
 * @param files destination in the container to host file, to copy into the disk
 */
record VmBundle(OciSpec guestSpec, Map<String, Path> files) {
  private static final String SHM = "/dev/shm";
  /** Options of a bind that mean nothing to a tmpfs. */
  private static final Set<String> BIND_ONLY = Set.of("bind", "rbind", "private", "rprivate",
      "shared", "rshared", "slave", "rslave", "unbindable", "runbindable");

  VmBundle {
    files = Map.copyOf(files);
  }

  static VmBundle of(OciSpec spec) {
    List<OciSpec.Mount> mounts = new ArrayList<>();
    Map<String, Path> files = new LinkedHashMap<>();
    for (OciSpec.Mount m : spec.mounts() == null ? List.<OciSpec.Mount>of() : spec.mounts()) {
      boolean bind = "bind".equals(m.type()) || m.options().contains("bind")
          || m.options().contains("rbind");
      if (!bind) {
        mounts.add(m);
        continue;
      }
      String dest = m.destination() == null ? "" : Path.of(m.destination()).normalize().toString();
      if (dest.equals(SHM)) {
        List<String> opts = new ArrayList<>(m.options().stream()
            .filter(o -> !BIND_ONLY.contains(o)).toList());
        opts.add("mode=1777");
        mounts.add(new OciSpec.Mount(SHM, "tmpfs", "shm", opts));
      } else if (m.source() != null && Files.isRegularFile(Path.of(m.source()))) {
        files.put(dest, Path.of(m.source()));
      } else {
        throw new LifecycleException("VM isolation: the bind mount of " + m.source() + " at "
            + m.destination() + " cannot reach into the VM (only regular files are copied in);"
            + " volumes need container isolation");
      }
    }
    OciSpec guest = new OciSpec(spec.ociVersion(), spec.process(), spec.root(), spec.hostname(),
        mounts, spec.linux(), spec.annotations());
    return new VmBundle(guest, files);
  }
}

package run.cocoon.container;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import run.cocoon.container.seccomp.SeccompCompiler;
import run.cocoon.container.seccomp.SeccompException;
import run.cocoon.container.seccomp.SeccompFilter;
import run.cocoon.container.seccomp.SeccompProfile;
import java.util.Map;
import java.util.Set;

/**
 * Checks an {@link OciSpec} against every rule cocoon enforces and turns it into a
 * {@link ContainerConfig}. Pure: reads the filesystem (to check the rootfs and resolve paths
 * inside it) but never writes, mounts or spawns anything, so a refused spec leaves no trace.
 */
public final class SpecValidator {
  public static final int CLONE_NEWNS = 0x00020000;
  public static final int CLONE_NEWCGROUP = 0x02000000;
  public static final int CLONE_NEWUTS = 0x04000000;
  public static final int CLONE_NEWIPC = 0x08000000;
  public static final int CLONE_NEWUSER = 0x10000000;
  public static final int CLONE_NEWPID = 0x20000000;
  public static final int CLONE_NEWNET = 0x40000000;

  private static final Map<String, Integer> NAMESPACES = Map.of(
      "pid", CLONE_NEWPID, "network", CLONE_NEWNET, "mount", CLONE_NEWNS, "ipc", CLONE_NEWIPC,
      "uts", CLONE_NEWUTS, "cgroup", CLONE_NEWCGROUP);
  private static final Set<String> MOUNT_TYPES =
      Set.of("proc", "sysfs", "tmpfs", "devpts", "mqueue", "bind", "none", "cgroup", "cgroup2");

  private SpecValidator() {}

  /** Reads {@code bundle/config.json} (size-bounded) and validates it. */
  public static ContainerConfig loadBundle(Path bundle) {
    return validate(OciSpec.read(bundle.resolve("config.json")), bundle);
  }

  /** Validates a whole spec whose relative paths are relative to {@code bundle}. */
  public static ContainerConfig validate(OciSpec spec, Path bundle) {
    if (spec.root() == null || spec.root().path() == null) {
      throw new InvalidSpecException("root.path", "is missing");
    }
    Path rootfs = rootfs(spec.root().path(), bundle);
    if (spec.process() == null) {
      throw new InvalidSpecException("process", "is missing");
    }
    ContainerConfig.ProcessConfig process = validateProcess(spec.process(), "process");

    String hostname = spec.hostname();
    if (hostname != null) {
      if (hostname.length() > ContainerLimits.MAX_HOSTNAME_BYTES
          || !hostname.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
        throw new InvalidSpecException("hostname", "'" + ContainerId.printable(hostname)
            + "' is not a host name of at most MAX_HOSTNAME_BYTES characters");
      }
    }

    OciSpec.Linux linux = spec.linux() == null
        ? new OciSpec.Linux(null, null, null, null, null, null) : spec.linux();
    int flags = 0;
    List<ContainerConfig.NamespaceJoin> joins = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < linux.namespaces().size(); i++) {
      OciSpec.Namespace ns = linux.namespaces().get(i);
      String field = "linux.namespaces[" + i + "]";
      if (ns == null || ns.type() == null) {
        throw new InvalidSpecException(field, "has no type");
      }
      if (ns.type().equals("user")) {
        throw new InvalidSpecException(field, "user namespaces are not supported yet");
      }
      Integer flag = NAMESPACES.get(ns.type());
      if (flag == null) {
        throw new InvalidSpecException(field, "unknown namespace type '"
            + ContainerId.printable(ns.type()) + "'");
      }
      if (!seen.add(ns.type())) {
        throw new InvalidSpecException(field, "namespace '" + ns.type() + "' listed twice");
      }
      if (ns.path() != null && !ns.path().isEmpty()) {
        joins.add(new ContainerConfig.NamespaceJoin(
            SafePath.checkContainerPath(field + ".path", ns.path()), flag));
      } else {
        flags |= flag;
      }
    }
    if (hostname != null && (flags & CLONE_NEWUTS) == 0) {
      throw new InvalidSpecException("hostname", "needs a new uts namespace");
    }
    boolean newMountNs = (flags & CLONE_NEWNS) != 0;
    if (!newMountNs) {
      throw new InvalidSpecException("linux.namespaces", "a mount namespace is required");
    }

    if (spec.mounts().size() > ContainerLimits.MAX_MOUNTS) {
      throw new InvalidSpecException("mounts", "has more than MAX_MOUNTS ("
          + ContainerLimits.MAX_MOUNTS + ") entries");
    }
    List<ContainerConfig.MountSpec> mounts = new ArrayList<>();
    for (int i = 0; i < spec.mounts().size(); i++) {
      mounts.add(mount(spec.mounts().get(i), "mounts[" + i + "]", rootfs, bundle));
    }

    List<String> masked = pathList(linux.maskedPaths(), "linux.maskedPaths", rootfs);
    List<String> readonly = pathList(linux.readonlyPaths(), "linux.readonlyPaths", rootfs);

    ContainerConfig.Resources resources = resources(linux.resources());
    if (spec.annotations().size() > ContainerLimits.MAX_ANNOTATIONS) {
      throw new InvalidSpecException("annotations", "has more than MAX_ANNOTATIONS entries");
    }
    return new ContainerConfig(rootfs, spec.root().readonly(), hostname, mounts, flags,
        joins, masked, readonly, process, resources, spec.annotations(), seccomp(linux));
  }

  /** The compiled {@code linux.seccomp} filter; null when the spec has none. */
  public static SeccompFilter seccomp(OciSpec.Linux linux) {
    if (linux == null || linux.seccomp() == null || linux.seccomp().isNull()) {
      return null;
    }
    try {
      return SeccompCompiler.compile(SeccompProfile.parse(linux.seccomp()));
    } catch (SeccompException e) {
      throw new InvalidSpecException("linux.seccomp", e.getMessage());
    }
  }

  /**
   * The filter of a bundle's config.json, for processes exec'd into a container made from it:
   * they are bound by the same filter as its init.
   */
  public static SeccompFilter bundleSeccomp(Path bundle) {
    return seccomp(OciSpec.read(bundle.resolve("config.json")).linux());
  }

  private static Path rootfs(String path, Path bundle) {
    if (path.isEmpty() || path.indexOf('\0') >= 0 || path.length() > ContainerLimits.MAX_PATH_BYTES) {
      throw new InvalidSpecException("root.path", "is empty, too long or contains NUL");
    }
    for (String c : path.split("/")) {
      if (c.equals("..")) {
        throw new InvalidSpecException("root.path", "'" + ContainerId.printable(path)
            + "' contains '..'");
      }
    }
    Path p = path.startsWith("/") ? Path.of(path) : bundle.resolve(path);
    p = p.normalize();
    if (p.getNameCount() == 0) {
      throw new InvalidSpecException("root.path", "must not be the host's /");
    }
    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      throw new InvalidSpecException("root.path", "'" + p + "' is not a directory (or is a symlink)");
    }
    return p;
  }

  /** Validates a process section (for create or for exec). */
  public static ContainerConfig.ProcessConfig validateProcess(OciSpec.Process p, String field) {
    if (p.args().isEmpty()) {
      throw new InvalidSpecException(field + ".args", "is empty");
    }
    if (p.args().size() > ContainerLimits.MAX_ARGS) {
      throw new InvalidSpecException(field + ".args", "has more than MAX_ARGS entries");
    }
    for (int i = 0; i < p.args().size(); i++) {
      String a = p.args().get(i);
      checkString(field + ".args[" + i + "]", a);
      if (i == 0 && a.isEmpty()) {
        throw new InvalidSpecException(field + ".args[0]", "is empty");
      }
    }
    if (p.env().size() > ContainerLimits.MAX_ENV) {
      throw new InvalidSpecException(field + ".env", "has more than MAX_ENV entries");
    }
    for (int i = 0; i < p.env().size(); i++) {
      String e = p.env().get(i);
      String f = field + ".env[" + i + "]";
      checkString(f, e);
      int eq = e.indexOf('=');
      if (eq <= 0) {
        throw new InvalidSpecException(f, "'" + ContainerId.printable(e)
            + "' is not KEY=VALUE with a non-empty KEY");
      }
    }
    String cwd = SafePath.checkContainerPath(field + ".cwd", p.cwd());
    OciSpec.User u = p.user();
    checkId(field + ".user.uid", u.uid());
    checkId(field + ".user.gid", u.gid());
    if (u.additionalGids().size() > ContainerLimits.MAX_ADDITIONAL_GIDS) {
      throw new InvalidSpecException(field + ".user.additionalGids",
          "has more than MAX_ADDITIONAL_GIDS entries");
    }
    for (int i = 0; i < u.additionalGids().size(); i++) {
      Long g = u.additionalGids().get(i);
      if (g == null) {
        throw new InvalidSpecException(field + ".user.additionalGids[" + i + "]", "is null");
      }
      checkId(field + ".user.additionalGids[" + i + "]", g);
    }
    if (p.rlimits().size() > ContainerLimits.MAX_RLIMITS) {
      throw new InvalidSpecException(field + ".rlimits", "has more than MAX_RLIMITS entries");
    }
    List<ContainerConfig.Rlimit> rlimits = new ArrayList<>();
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < p.rlimits().size(); i++) {
      OciSpec.Rlimit r = p.rlimits().get(i);
      String f = field + ".rlimits[" + i + "]";
      int n = r == null || r.type() == null ? -1 : Rlimits.number(r.type());
      if (n < 0) {
        throw new InvalidSpecException(f, "unknown rlimit type '"
            + (r == null || r.type() == null ? "null" : ContainerId.printable(r.type())) + "'");
      }
      if (!seen.add(n)) {
        throw new InvalidSpecException(f, r.type() + " listed twice");
      }
      if (Long.compareUnsigned(r.soft(), r.hard()) > 0) {
        throw new InvalidSpecException(f, "soft limit above hard limit");
      }
      rlimits.add(new ContainerConfig.Rlimit(n, r.soft(), r.hard()));
    }
    Capabilities.Sets caps;
    if (p.capabilities() == null) {
      long m = Capabilities.mask(Capabilities.DEFAULT);
      caps = new Capabilities.Sets(m, m, m, 0, 0);
    } else {
      OciSpec.Capabilities c = p.capabilities();
      caps = new Capabilities.Sets(
          capMask(field + ".capabilities.bounding", c.bounding()),
          capMask(field + ".capabilities.effective", c.effective()),
          capMask(field + ".capabilities.permitted", c.permitted()),
          capMask(field + ".capabilities.inheritable", c.inheritable()),
          capMask(field + ".capabilities.ambient", c.ambient()));
    }
    return new ContainerConfig.ProcessConfig(List.copyOf(p.args()), List.copyOf(p.env()), cwd,
        u.uid(), u.gid(), List.copyOf(u.additionalGids()), List.copyOf(rlimits), caps,
        p.noNewPrivileges(), p.terminal());
  }

  private static long capMask(String field, List<String> names) {
    if (names.size() > 64) {
      throw new InvalidSpecException(field, "has more than 64 entries");
    }
    for (String n : names) {
      if (n == null || Capabilities.number(n) < 0) {
        throw new InvalidSpecException(field, "unknown capability '"
            + (n == null ? "null" : ContainerId.printable(n)) + "'");
      }
    }
    return Capabilities.mask(names);
  }

  private static void checkId(String field, long id) {
    if (id < 0 || id > 0xFFFF_FFFEL) {
      throw new InvalidSpecException(field, id + " is not a valid id (0..4294967294)");
    }
  }

  private static void checkString(String field, String s) {
    if (s == null) {
      throw new InvalidSpecException(field, "is null");
    }
    if (s.indexOf('\0') >= 0) {
      throw new InvalidSpecException(field, "contains a NUL byte");
    }
    if (s.length() > ContainerLimits.MAX_STRING_BYTES) {
      throw new InvalidSpecException(field, "is longer than MAX_STRING_BYTES");
    }
  }

  private static ContainerConfig.MountSpec mount(OciSpec.Mount m, String field, Path rootfs,
      Path bundle) {
    if (m == null) {
      throw new InvalidSpecException(field, "is null");
    }
    String dest = SafePath.checkContainerPath(field + ".destination", m.destination());
    if (dest.equals("/")) {
      throw new InvalidSpecException(field + ".destination", "must not be the container's /");
    }
    MountOptions options = MountOptions.parse(field + ".options", m.options());
    String type = m.type() == null ? (options.bind() ? "bind" : null) : m.type();
    if (type == null || !MOUNT_TYPES.contains(type)) {
      throw new InvalidSpecException(field + ".type", "unsupported mount type '"
          + (type == null ? "null" : ContainerId.printable(type)) + "'");
    }
    boolean bind = type.equals("bind") || options.bind();
    if (type.equals("none") && !bind) {
      throw new InvalidSpecException(field + ".type", "'none' without a bind option");
    }
    String source = m.source();
    if (source == null || source.isEmpty()) {
      if (bind) {
        throw new InvalidSpecException(field + ".source", "a bind mount needs a source");
      }
      source = type;
    }
    checkString(field + ".source", source);
    if (source.length() > ContainerLimits.MAX_PATH_BYTES) {
      throw new InvalidSpecException(field + ".source", "is longer than MAX_PATH_BYTES");
    }
    if (bind) {
      for (String c : source.split("/")) {
        if (c.equals("..")) {
          throw new InvalidSpecException(field + ".source", "'" + ContainerId.printable(source)
              + "' contains '..'");
        }
      }
      Path src = source.startsWith("/") ? Path.of(source) : bundle.resolve(source);
      if (!Files.exists(src)) {
        throw new InvalidSpecException(field + ".source", "'" + src + "' does not exist");
      }
      source = src.normalize().toString();
      type = "bind";
    }
    // Resolve now so a symlink trap in the rootfs is refused before anything happens; the helper
    // resolves again in the kernel with RESOLVE_IN_ROOT when it mounts.
    String resolved = SafePath.resolveInRoot(rootfs, dest);
    if (resolved.isEmpty()) {
      throw new InvalidSpecException(field + ".destination", "'" + dest
          + "' resolves to the container's / through symlinks");
    }
    return new ContainerConfig.MountSpec("/" + resolved, type, source, options);
  }

  private static List<String> pathList(List<String> paths, String field, Path rootfs) {
    if (paths.size() > ContainerLimits.MAX_PATH_LIST) {
      throw new InvalidSpecException(field, "has more than MAX_PATH_LIST entries");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < paths.size(); i++) {
      out.add(SafePath.checkContainerPath(field + "[" + i + "]", paths.get(i)));
    }
    return List.copyOf(out);
  }

  private static ContainerConfig.Resources resources(OciSpec.Resources r) {
    if (r == null) {
      return ContainerConfig.Resources.NONE;
    }
    Long mem = r.memory() == null ? null : r.memory().limit();
    Long swap = r.memory() == null ? null : r.memory().swap();
    Long pids = r.pids() == null ? null : r.pids().limit();
    Long shares = r.cpu() == null ? null : r.cpu().shares();
    Long quota = r.cpu() == null ? null : r.cpu().quota();
    Long period = r.cpu() == null ? null : r.cpu().period();
    if (mem != null && mem != -1 && mem < 4096) {
      throw new InvalidSpecException("linux.resources.memory.limit", "below 4096 bytes");
    }
    if (pids != null && pids < -1 || pids != null && pids == 0) {
      throw new InvalidSpecException("linux.resources.pids.limit", "must be positive or -1");
    }
    if (shares != null && (shares < 2 || shares > 262144)) {
      throw new InvalidSpecException("linux.resources.cpu.shares", "must be 2..262144");
    }
    if (period != null && (period < 1000 || period > 1_000_000)) {
      throw new InvalidSpecException("linux.resources.cpu.period", "must be 1000..1000000 us");
    }
    if (quota != null && quota != -1 && quota < 1000) {
      throw new InvalidSpecException("linux.resources.cpu.quota", "must be -1 or >= 1000 us");
    }
    return new ContainerConfig.Resources(mem, swap, pids, shares, quota, period);
  }
}

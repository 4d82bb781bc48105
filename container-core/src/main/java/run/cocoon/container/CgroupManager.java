package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Creates per-container cgroups. Detects the layout from /proc/self/mountinfo:
 * <ul>
 *   <li>{@link Layout#UNIFIED}: cgroup v2 only; containers get {@code <mount>/<parent>/<id>}
 *       with memory, pids and cpu enabled in the parents' subtree_control.</li>
 *   <li>{@link Layout#HYBRID} / {@link Layout#LEGACY}: v1 controllers (memory, pids, cpu,
 *       cpuacct) each mounted on its own hierarchy (with or without a controller-less cgroup2);
 *       limits go to the v1 controllers, under the caller's own cgroup in each hierarchy.</li>
 * </ul>
 */
public final class CgroupManager {
  public enum Layout { UNIFIED, HYBRID, LEGACY }

  /** v1 controllers this library uses. */
  public static final List<String> V1_CONTROLLERS = List.of("memory", "pids", "cpu", "cpuacct");

  private final Layout layout;
  private final Path unifiedBase;
  private final Map<String, Path> v1Bases;

  private CgroupManager(Layout layout, Path unifiedBase, Map<String, Path> v1Bases) {
    this.layout = layout;
    this.unifiedBase = unifiedBase;
    this.v1Bases = v1Bases;
  }

  /** Detects the layout; containers go under a parent cgroup named {@code cocoon}. */
  public static CgroupManager detect() {
    return detect("cocoon");
  }

  /** Detects the layout of this process's view of cgroups; {@code parent} is a path below it. */
  public static CgroupManager detect(String parent) {
    try {
      return detect(Files.readAllLines(Path.of("/proc/self/mountinfo")),
          Files.readAllLines(Path.of("/proc/self/cgroup")), parent);
    } catch (IOException e) {
      throw new CgroupException("cannot read /proc/self/mountinfo or /proc/self/cgroup", e);
    }
  }

  /** Detection from the text of mountinfo and /proc/self/cgroup (pure, for tests). */
  public static CgroupManager detect(List<String> mountinfo, List<String> procCgroup, String parent) {
    if (parent.contains("..") || parent.startsWith("/")) {
      throw new CgroupException("bad cgroup parent '" + parent + "'");
    }
    Path unified = null;
    Map<String, Path> v1Mounts = new LinkedHashMap<>();
    for (String line : mountinfo) {
      int sep = line.indexOf(" - ");
      if (sep < 0) {
        continue;
      }
      String[] pre = line.substring(0, sep).split(" ");
      String[] post = line.substring(sep + 3).split(" ");
      if (pre.length < 5 || post.length < 3) {
        continue;
      }
      String mountPoint = unescape(pre[4]);
      if (post[0].equals("cgroup2") && unified == null) {
        unified = Path.of(mountPoint);
      } else if (post[0].equals("cgroup")) {
        for (String opt : post[2].split(",")) {
          if (V1_CONTROLLERS.contains(opt) && !v1Mounts.containsKey(opt)) {
            v1Mounts.put(opt, Path.of(mountPoint));
          }
        }
      }
    }
    Map<String, String> ownPaths = new LinkedHashMap<>();
    String unifiedPath = "/";
    for (String line : procCgroup) {
      String[] f = line.split(":", 3);
      if (f.length < 3) {
        continue;
      }
      if (f[1].isEmpty()) {
        unifiedPath = f[2];
      }
      for (String c : f[1].split(",")) {
        ownPaths.put(c, f[2]);
      }
    }
    if (v1Mounts.containsKey("memory") || v1Mounts.containsKey("pids") || v1Mounts.containsKey("cpu")) {
      Map<String, Path> bases = new LinkedHashMap<>();
      for (Map.Entry<String, Path> e : v1Mounts.entrySet()) {
        String own = ownPaths.getOrDefault(e.getKey(), "/");
        bases.put(e.getKey(), join(e.getValue(), own).resolve(parent));
      }
      return new CgroupManager(unified == null ? Layout.LEGACY : Layout.HYBRID, null, Map.copyOf(bases));
    }
    if (unified != null) {
      // Under the unified hierarchy, a cgroup with processes cannot delegate controllers; use a
      // parent beside (not below) the caller's cgroup: <mount>/<parent>.
      return new CgroupManager(Layout.UNIFIED, unified.resolve(parent), Map.of());
    }
    throw new CgroupException("no cgroup hierarchy mounted (neither cgroup2 nor v1 controllers)");
  }

  private static Path join(Path mount, String own) {
    String rel = own.startsWith("/") ? own.substring(1) : own;
    return rel.isEmpty() ? mount : mount.resolve(rel);
  }

  private static String unescape(String s) {
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
  }

  public Layout layout() {
    return layout;
  }

  /** Where containers' cgroups go: one path on UNIFIED, one per v1 controller otherwise. */
  public Map<String, Path> bases() {
    return unifiedBase != null ? Map.of("unified", unifiedBase) : v1Bases;
  }

  /** Creates the container's cgroup(s) and applies the limits. On failure nothing is left. */
  public Cgroup create(ContainerId id, ContainerConfig.Resources resources) {
    Cgroup cg;
    if (layout == Layout.UNIFIED) {
      enableControllers(unifiedBase.getParent());
      mkdir(unifiedBase);
      enableControllers(unifiedBase);
      Path dir = unifiedBase.resolve(id.value());
      mkdirNew(dir);
      cg = new Cgroup(true, Map.of("unified", dir));
    } else {
      Map<String, Path> dirs = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, Path> e : v1Bases.entrySet()) {
          mkdir(e.getValue());
          Path dir = e.getValue().resolve(id.value());
          mkdirNew(dir);
          dirs.put(e.getKey(), dir);
        }
      } catch (CgroupException e) {
        new Cgroup(false, dirs).destroy();
        throw e;
      }
      cg = new Cgroup(false, dirs);
    }
    try {
      cg.apply(resources);
    } catch (CgroupException e) {
      cg.destroy();
      throw e;
    }
    return cg;
  }

  private static void enableControllers(Path dir) {
    for (String c : List.of("memory", "pids", "cpu")) {
      try {
        Files.writeString(dir.resolve("cgroup.subtree_control"), "+" + c);
      } catch (IOException ignored) {
        // not available here: the limit that needs it fails later with a clear message
      }
    }
  }

  private static void mkdir(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new CgroupException("cannot create cgroup " + dir + ": " + e, e);
    }
  }

  private static void mkdirNew(Path dir) {
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new CgroupException("cgroup " + dir + " already exists (container id in use?)");
    } catch (IOException e) {
      throw new CgroupException("cannot create cgroup " + dir + ": " + e, e);
    }
  }
}

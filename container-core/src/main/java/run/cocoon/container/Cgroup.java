package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One container's cgroup: a v2 directory, or one directory per v1 controller. */
public final class Cgroup {
  /** Rounds of kill-and-rmdir before {@link #destroy()} gives up. */
  public static final int DESTROY_ROUNDS = 200;
  /** Pause between rounds. */
  public static final long DESTROY_PAUSE_MILLIS = 10;

  private final boolean unified;
  private final Map<String, Path> dirs;

  Cgroup(boolean unified, Map<String, Path> dirs) {
    this.unified = unified;
    this.dirs = Map.copyOf(dirs);
  }

  /**
   * The cgroup at directories recorded earlier (by {@link #directories()}), for a process other
   * than the creator to signal, inspect or destroy it. Every path must be absolute, normalised and
   * below {@code /sys/fs/cgroup}: a corrupt state file must not make us rmdir elsewhere.
   */
  public static Cgroup reopen(Map<String, Path> dirs) {
    for (Map.Entry<String, Path> e : dirs.entrySet()) {
      Path p = e.getValue();
      if (!p.isAbsolute() || !p.normalize().equals(p) || !p.startsWith("/sys/fs/cgroup")
          || p.getNameCount() < 4) {
        throw new CgroupException("recorded cgroup path " + p + " is not below /sys/fs/cgroup");
      }
    }
    return new Cgroup(dirs.containsKey("unified"), dirs);
  }

  /** The directories, keyed by controller ("unified" on cgroup v2). */
  public Map<String, Path> directories() {
    return dirs;
  }

  /** The cgroup.procs files a process writes its pid into to join. */
  public List<String> procsFiles() {
    List<String> out = new ArrayList<>();
    for (Path d : dirs.values()) {
      out.add(d.resolve("cgroup.procs").toString());
    }
    return out;
  }

  void apply(ContainerConfig.Resources r) {
    if (unified) {
      Path d = dirs.get("unified");
      if (r.memoryLimit() != null) {
        write(d, "memory.max", max(r.memoryLimit()));
        if (r.memorySwap() != null) {
          long swap = r.memorySwap() == -1 || r.memoryLimit() == -1 ? -1
              : Math.max(0, r.memorySwap() - r.memoryLimit());
          write(d, "memory.swap.max", max(swap));
        }
      }
      if (r.pidsLimit() != null) {
        write(d, "pids.max", max(r.pidsLimit()));
      }
      if (r.cpuShares() != null) {
        long weight = 1 + ((r.cpuShares() - 2) * 9999) / 262142;
        write(d, "cpu.weight", Long.toString(weight));
      }
      if (r.cpuQuota() != null || r.cpuPeriod() != null) {
        long period = r.cpuPeriod() == null ? 100_000 : r.cpuPeriod();
        String quota = r.cpuQuota() == null || r.cpuQuota() == -1 ? "max" : r.cpuQuota().toString();
        write(d, "cpu.max", quota + " " + period);
      }
      return;
    }
    if (r.memoryLimit() != null) {
      Path m = need("memory");
      write(m, "memory.limit_in_bytes", Long.toString(r.memoryLimit()));
      if (r.memorySwap() != null && Files.exists(m.resolve("memory.memsw.limit_in_bytes"))) {
        write(m, "memory.memsw.limit_in_bytes", Long.toString(r.memorySwap()));
      }
    }
    if (r.pidsLimit() != null) {
      write(need("pids"), "pids.max", max(r.pidsLimit()));
    }
    if (r.cpuShares() != null) {
      write(need("cpu"), "cpu.shares", r.cpuShares().toString());
    }
    if (r.cpuPeriod() != null) {
      write(need("cpu"), "cpu.cfs_period_us", r.cpuPeriod().toString());
    }
    if (r.cpuQuota() != null) {
      write(need("cpu"), "cpu.cfs_quota_us", r.cpuQuota().toString());
    }
  }

  private Path need(String controller) {
    Path p = dirs.get(controller);
    if (p == null) {
      throw new CgroupException("the " + controller + " controller is not mounted; cannot apply its limit");
    }
    return p;
  }

  private static String max(long v) {
    return v < 0 ? "max" : Long.toString(v);
  }

  private static void write(Path dir, String file, String value) {
    try {
      Files.writeString(dir.resolve(file), value);
    } catch (IOException e) {
      throw new CgroupException("cannot write " + value + " to " + dir.resolve(file) + ": " + e, e);
    }
  }

  private static String read(Path file) {
    try {
      return ProcFiles.read(file).trim();
    } catch (IOException e) {
      return null;
    }
  }

  private static long readLong(Path file) {
    String s = read(file);
    if (s == null || s.isEmpty()) {
      return -1;
    }
    try {
      return s.equals("max") ? Long.MAX_VALUE : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static long keyed(Path file, String key) {
    String s = read(file);
    if (s == null) {
      return -1;
    }
    for (String line : s.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length == 2 && f[0].equals(key)) {
        return Long.parseLong(f[1]);
      }
    }
    return -1;
  }

  /** Times the OOM killer acted in this cgroup (v2 memory.events, v1 memory.oom_control). */
  public long oomKills() {
    if (unified) {
      return keyed(dirs.get("unified").resolve("memory.events"), "oom_kill");
    }
    Path m = dirs.get("memory");
    return m == null ? -1 : keyed(m.resolve("memory.oom_control"), "oom_kill");
  }

  public CgroupStats stats() {
    if (unified) {
      Path d = dirs.get("unified");
      long usec = keyed(d.resolve("cpu.stat"), "usage_usec");
      return new CgroupStats(readLong(d.resolve("memory.current")),
          usec < 0 ? -1 : usec * 1000, readLong(d.resolve("pids.current")), oomKills());
    }
    Path m = dirs.get("memory");
    Path p = dirs.get("pids");
    Path a = dirs.get("cpuacct");
    return new CgroupStats(m == null ? -1 : readLong(m.resolve("memory.usage_in_bytes")),
        a == null ? -1 : readLong(a.resolve("cpuacct.usage")),
        p == null ? -1 : readLong(p.resolve("pids.current")), oomKills());
  }

  /** Every pid in the cgroup (all hierarchies). */
  public Set<Integer> pids() {
    Set<Integer> out = new LinkedHashSet<>();
    for (Path d : dirs.values()) {
      String s = read(d.resolve("cgroup.procs"));
      if (s == null) {
        continue;
      }
      for (String line : s.split("\n")) {
        if (!line.isBlank()) {
          out.add(Integer.parseInt(line.trim()));
        }
      }
    }
    return out;
  }

  /**
   * Kills every process left in the cgroup and removes its directories. Throws if it cannot
   * within {@link #DESTROY_ROUNDS} rounds.
   */
  public void destroy() {
    for (int round = 0; round < DESTROY_ROUNDS; round++) {
      if (unified && Files.exists(dirs.get("unified").resolve("cgroup.kill"))) {
        try {
          Files.writeString(dirs.get("unified").resolve("cgroup.kill"), "1");
        } catch (IOException ignored) {
          // gone already
        }
      }
      for (int pid : pids()) {
        Sys.kill(pid, 9);
      }
      boolean all = true;
      for (Path d : dirs.values()) {
        try {
          Files.deleteIfExists(d);
        } catch (NoSuchFileException ignored) {
          // removed
        } catch (IOException e) {
          all = false; // EBUSY while the killed processes die
        }
      }
      if (all) {
        return;
      }
      try {
        Thread.sleep(DESTROY_PAUSE_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new CgroupException("cgroup " + dirs.values() + " still busy after " + DESTROY_ROUNDS
        + " rounds of SIGKILL");
  }
}

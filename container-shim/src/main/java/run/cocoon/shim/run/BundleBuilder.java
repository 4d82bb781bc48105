package run.cocoon.shim.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.lifecycle.Lifecycle;
import run.cocoon.shim.lifecycle.RunRequest;

/**
 * Builds the OCI spec for {@code cocoon run} from an image config and the command line, with
 * runc's defaults for what the user does not choose: the usual /proc, /dev, /dev/pts, /dev/shm,
 * /dev/mqueue and read-only /sys mounts, masked and read-only kernel paths, new pid, mount, uts,
 * ipc, network and cgroup namespaces, RLIMIT_NOFILE 1024, no_new_privs, and the seccomp profile
 * the options carry.
 */
public final class BundleBuilder {
  public static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  public static final List<String> MASKED_PATHS = List.of("/proc/acpi", "/proc/asound",
      "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi");
  public static final List<String> READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq",
      "/proc/sys", "/proc/sysrq-trigger");
  /** The CFS period --cpus is expressed in (runc's and docker's default). */
  public static final long CPU_PERIOD_US = 100_000;

  private static final ObjectMapper WRITER = new ObjectMapper()
      .setSerializationInclusion(JsonInclude.Include.NON_NULL);

  /**
   * What the command line says about the process and its environment; {@code seccomp} is the
   * {@code linux.seccomp} object, null for none.
   */
  public record Options(List<String> command, List<String> env, String workdir, String user,
      String hostname, boolean tty, List<RunRequest.Volume> volumes,
      RunRequest.Resources resources, String isolation, JsonNode seccomp) {}

  private BundleBuilder() {}

  public static OciSpec spec(List<String> entrypoint, List<String> cmd, List<String> imageEnv,
      String imageWorkdir, String imageUser, Path rootfs, Options o) {
    List<String> args = new ArrayList<>(entrypoint);
    args.addAll(o.command().isEmpty() ? cmd : o.command());
    if (args.isEmpty()) {
      throw new IllegalArgumentException("no command: the image has no Entrypoint or Cmd; give one");
    }
    Map<String, String> env = new LinkedHashMap<>();
    put(env, DEFAULT_PATH);
    imageEnv.forEach(e -> put(env, e));
    if (o.tty()) {
      put(env, "TERM=xterm");
    }
    if (o.hostname() != null) {
      put(env, "HOSTNAME=" + o.hostname());
    }
    o.env().forEach(e -> put(env, e.contains("=") ? e : e + "=" + System.getenv().getOrDefault(e, "")));
    List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    OciSpec.User user = user(o.user() != null ? o.user() : imageUser, rootfs);
    String cwd = o.workdir() != null ? o.workdir() : imageWorkdir;
    OciSpec.Process process = new OciSpec.Process(o.tty(), user, args, envList, cwd, null,
        List.of(new OciSpec.Rlimit("RLIMIT_NOFILE", 1024, 1024)), true);
    List<OciSpec.Mount> mounts = new ArrayList<>(List.of(
        new OciSpec.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")),
        new OciSpec.Mount("/dev", "tmpfs", "tmpfs",
            List.of("nosuid", "strictatime", "mode=755", "size=65536k")),
        new OciSpec.Mount("/dev/pts", "devpts", "devpts",
            List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620")),
        new OciSpec.Mount("/dev/shm", "tmpfs", "shm",
            List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
        new OciSpec.Mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")),
        new OciSpec.Mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro"))));
    for (RunRequest.Volume v : o.volumes()) {
      mounts.add(new OciSpec.Mount(v.containerPath(), "bind", v.hostPath().toString(),
          v.readOnly() ? List.of("rbind", "ro") : List.of("rbind", "rw")));
    }
    List<OciSpec.Namespace> ns = new ArrayList<>();
    for (String t : List.of("pid", "mount", "uts", "ipc", "network", "cgroup")) {
      ns.add(new OciSpec.Namespace(t, null));
    }
    RunRequest.Resources r = o.resources();
    OciSpec.Memory mem = r.memoryBytes() > 0 ? new OciSpec.Memory(r.memoryBytes(), r.memoryBytes()) : null;
    OciSpec.Cpu cpu = r.cpus() > 0
        ? new OciSpec.Cpu(null, Math.round(r.cpus() * CPU_PERIOD_US), CPU_PERIOD_US) : null;
    OciSpec.Linux linux = new OciSpec.Linux(ns, MASKED_PATHS, READONLY_PATHS,
        mem == null && cpu == null ? null : new OciSpec.Resources(mem, null, cpu), null, o.seccomp());
    return new OciSpec("1.0.2", process, new OciSpec.Root("rootfs", false),
        o.hostname() != null ? o.hostname() : "cocoon", mounts, linux,
        Map.of(Lifecycle.ANNOTATION, o.isolation()));
  }

  private static void put(Map<String, String> env, String kv) {
    int eq = kv.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("environment entry '" + kv + "' is not KEY=VALUE");
    }
    env.put(kv.substring(0, eq), kv.substring(eq + 1));
  }

  /** UID[:GID] numbers, or a user name looked up in the image's /etc/passwd. */
  static OciSpec.User user(String spec, Path rootfs) {
    if (spec == null || spec.isEmpty()) {
      return new OciSpec.User(0, 0, List.of());
    }
    String[] parts = spec.split(":", 2);
    long uid;
    long gid = -1;
    if (parts[0].chars().allMatch(Character::isDigit)) {
      uid = Long.parseLong(parts[0]);
    } else {
      long[] ug = lookup(rootfs.resolve("etc/passwd"), parts[0]);
      uid = ug[0];
      gid = ug[1];
    }
    if (parts.length == 2) {
      if (!parts[1].chars().allMatch(Character::isDigit) || parts[1].isEmpty()) {
        throw new IllegalArgumentException("group '" + parts[1] + "': only numeric groups are supported");
      }
      gid = Long.parseLong(parts[1]);
    }
    return new OciSpec.User(uid, gid < 0 ? uid : gid, List.of());
  }

  private static long[] lookup(Path passwd, String name) {
    try {
      for (String line : Files.readAllLines(passwd)) {
        String[] f = line.split(":");
        if (f.length >= 4 && f[0].equals(name)) {
          return new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])};
        }
      }
    } catch (IOException | NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException("user '" + name + "' not found in the image's /etc/passwd");
  }

  public static void write(Path bundle, OciSpec spec) throws IOException {
    Files.createDirectories(bundle.resolve("rootfs"));
    Files.write(bundle.resolve("config.json"), WRITER.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec));
  }
}

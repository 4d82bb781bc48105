package run.cocoon.agent.guest;

import static run.cocoon.agent.guest.GuestLibc.MS_NODEV;
import static run.cocoon.agent.guest.GuestLibc.MS_NOEXEC;
import static run.cocoon.agent.guest.GuestLibc.MS_NOSUID;
import static run.cocoon.agent.guest.GuestLibc.MS_RELATIME;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The file systems PID 1 mounts before serving, and which of them are already there. */
public final class GuestMounts {
  /** One mount(2) call. */
  public record Mount(String source, String target, String type, long flags, String data) {}

  /**
   * In order (each target lies on an earlier one): the kernel's views, device nodes and ptys,
   * scratch space, and the cgroup v2 hierarchy that containers get their cgroups from.
   */
  public static final List<Mount> STANDARD = List.of(
      new Mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, null),
      new Mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, null),
      new Mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"),
      // A private pty instance, as in containers: gid 5 (tty) owns the slaves.
      new Mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=0620,gid=5"),
      new Mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"),
      new Mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_RELATIME, "mode=1777"),
      new Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
          "nsdelegate"));

  /** Controllers enabled for the children of the root cgroup (containers' cgroups). */
  public static final List<String> CGROUP_CONTROLLERS = List.of("memory", "pids", "cpu");

  private GuestMounts() {}

  /** Mount points listed in a {@code /proc/self/mountinfo} text (field 5, octal escapes decoded). */
  public static Set<String> mountPoints(String mountinfo) {
    Set<String> points = new HashSet<>();
    for (String line : mountinfo.split("\n")) {
      String[] fields = line.split(" ");
      if (fields.length > 4) {
        points.add(unescape(fields[4]));
      }
    }
    return points;
  }

  /** The mount points of this process's mount namespace; empty when /proc is not mounted. */
  public static Set<String> currentMountPoints() throws IOException {
    Path mountinfo = Path.of("/proc/self/mountinfo");
    return Files.exists(mountinfo) ? mountPoints(Files.readString(mountinfo)) : Set.of();
  }

  /** The standard mounts whose targets are not mount points yet, in order. */
  public static List<Mount> missing(Set<String> mountPoints) {
    return STANDARD.stream().filter(m -> !mountPoints.contains(m.target())).toList();
  }

  /** mountinfo escapes space, tab, newline and backslash as {@code \ooo}. */
  static String unescape(String field) {
    StringBuilder b = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        b.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}

package run.cocoon.container;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Linux capability names and numbers (linux/capability.h), and the sets a plan carries. */
public final class Capabilities {
  /** Capability names by number. */
  public static final List<String> NAMES = List.of(
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
      "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
      "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
      "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
      "CAP_BPF", "CAP_CHECKPOINT_RESTORE");
  private static final Map<String, Integer> NUMBERS = new TreeMap<>();

  static {
    for (int i = 0; i < NAMES.size(); i++) {
      NUMBERS.put(NAMES.get(i), i);
    }
  }

  /** The highest capability number this library knows (CAP_CHECKPOINT_RESTORE). */
  public static final int LAST_KNOWN = NAMES.size() - 1;

  /** runc's default set, used when a spec has no process.capabilities. */
  public static final List<String> DEFAULT = List.of(
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
      "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");

  private Capabilities() {}

  /** The number of a capability name, or -1 when unknown. */
  public static int number(String name) {
    return NUMBERS.getOrDefault(name, -1);
  }

  /** A bit mask of the named capabilities (names already validated). */
  public static long mask(List<String> names) {
    long m = 0;
    for (String n : names) {
      m |= 1L << number(n);
    }
    return m;
  }

  /** The five capability sets as bit masks. */
  public record Sets(long bounding, long effective, long permitted, long inheritable, long ambient) {}
}

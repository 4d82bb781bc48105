package run.cocoon.container;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * OCI mount options turned into mount(2) arguments: flags to set, a propagation change, whether
 * it is a (recursive) bind, and the filesystem data string made of every unrecognised option.
 */
public record MountOptions(long flags, long propagation, boolean bind, boolean recursive,
    boolean readonly, String data) {
  public static final long MS_RDONLY = 1;
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_NOEXEC = 8;
  public static final long MS_SYNCHRONOUS = 16;
  public static final long MS_REMOUNT = 32;
  public static final long MS_MANDLOCK = 64;
  public static final long MS_DIRSYNC = 128;
  public static final long MS_NOATIME = 1024;
  public static final long MS_NODIRATIME = 2048;
  public static final long MS_BIND = 4096;
  public static final long MS_REC = 16384;
  public static final long MS_UNBINDABLE = 1L << 17;
  public static final long MS_PRIVATE = 1L << 18;
  public static final long MS_SLAVE = 1L << 19;
  public static final long MS_SHARED = 1L << 20;
  public static final long MS_RELATIME = 1L << 21;
  public static final long MS_STRICTATIME = 1L << 24;

  /** option -> {flag to set, flag to clear} */
  private static final Map<String, long[]> FLAGS = Map.ofEntries(
      Map.entry("ro", new long[] {MS_RDONLY, 0}), Map.entry("rw", new long[] {0, MS_RDONLY}),
      Map.entry("nosuid", new long[] {MS_NOSUID, 0}), Map.entry("suid", new long[] {0, MS_NOSUID}),
      Map.entry("nodev", new long[] {MS_NODEV, 0}), Map.entry("dev", new long[] {0, MS_NODEV}),
      Map.entry("noexec", new long[] {MS_NOEXEC, 0}), Map.entry("exec", new long[] {0, MS_NOEXEC}),
      Map.entry("sync", new long[] {MS_SYNCHRONOUS, 0}),
      Map.entry("async", new long[] {0, MS_SYNCHRONOUS}),
      Map.entry("dirsync", new long[] {MS_DIRSYNC, 0}),
      Map.entry("mand", new long[] {MS_MANDLOCK, 0}), Map.entry("nomand", new long[] {0, MS_MANDLOCK}),
      Map.entry("noatime", new long[] {MS_NOATIME, 0}), Map.entry("atime", new long[] {0, MS_NOATIME}),
      Map.entry("nodiratime", new long[] {MS_NODIRATIME, 0}),
      Map.entry("diratime", new long[] {0, MS_NODIRATIME}),
      Map.entry("relatime", new long[] {MS_RELATIME, 0}),
      Map.entry("norelatime", new long[] {0, MS_RELATIME}),
      Map.entry("strictatime", new long[] {MS_STRICTATIME, 0}),
      Map.entry("nostrictatime", new long[] {0, MS_STRICTATIME}));
  private static final Map<String, Long> PROPAGATION = Map.of(
      "private", MS_PRIVATE, "rprivate", MS_PRIVATE | MS_REC,
      "shared", MS_SHARED, "rshared", MS_SHARED | MS_REC,
      "slave", MS_SLAVE, "rslave", MS_SLAVE | MS_REC,
      "unbindable", MS_UNBINDABLE, "runbindable", MS_UNBINDABLE | MS_REC);

  /** Parses a mount's options; {@code field} names it in errors. */
  public static MountOptions parse(String field, List<String> options) {
    long set = 0;
    long propagation = 0;
    boolean bind = false;
    boolean rec = false;
    List<String> data = new ArrayList<>();
    for (String o : options) {
      if (o == null || o.indexOf('\0') >= 0 || o.indexOf(',') >= 0) {
        throw new InvalidSpecException(field, "option '" + (o == null ? "null"
            : ContainerId.printable(o)) + "' is null or contains NUL or ','");
      }
      long[] f = FLAGS.get(o);
      if (f != null) {
        set = (set | f[0]) & ~f[1];
      } else if (PROPAGATION.containsKey(o)) {
        propagation = PROPAGATION.get(o);
      } else if (o.equals("bind")) {
        bind = true;
      } else if (o.equals("rbind")) {
        bind = true;
        rec = true;
      } else if (o.equals("remount") || o.equals("defaults")) {
        // remount has no meaning for a fresh mount; defaults means nothing
      } else {
        data.add(o);
      }
    }
    return new MountOptions(set, propagation, bind, rec, (set & MS_RDONLY) != 0,
        String.join(",", data));
  }
}

package run.cocoon.container;

import java.util.List;
import run.cocoon.container.seccomp.SeccompFilter;

/**
 * One operation of a spawn plan, executed in order by the cocoon-spawn helper. The opcodes are
 * the helper's {@code enum op}; every decision was taken before the plan was written.
 */
public sealed interface PlanOp {
  /** The helper's opcode. */
  int opcode();

  /** The numeric fields, in the helper's order. */
  default long[] nums() {
    return new long[0];
  }

  /** The string fields, in the helper's order. */
  default List<String> strings() {
    return List.of();
  }

  /** Write the helper's pid into this cgroup.procs file (host path). */
  record JoinCgroup(String procsFile) implements PlanOp {
    public int opcode() { return 1; }
    public List<String> strings() { return List.of(procsFile); }
  }

  /** unshare(2) with these CLONE_NEW* flags. */
  record Unshare(int flags) implements PlanOp {
    public int opcode() { return 2; }
    public long[] nums() { return new long[] {flags}; }
  }

  /** open(path) and setns(2) into it. */
  record SetNs(String path, int nstype) implements PlanOp {
    public int opcode() { return 3; }
    public long[] nums() { return new long[] {nstype}; }
    public List<String> strings() { return List.of(path); }
  }

  /** Fork the container process; what follows runs in it, the helper becomes its relay. */
  record Fork() implements PlanOp {
    public int opcode() { return 4; }
  }

  record SetSid() implements PlanOp {
    public int opcode() { return 5; }
  }

  record Hostname(String name) implements PlanOp {
    public int opcode() { return 6; }
    public List<String> strings() { return List.of(name); }
  }

  /**
   * mount(2). With {@code targetInRoot} the target is relative to the opened root and resolved by
   * the kernel with RESOLVE_IN_ROOT; otherwise it is an absolute path. Empty strings mean NULL.
   */
  record Mount(String source, String target, boolean targetInRoot, String fstype, long flags,
      String data) implements PlanOp {
    public int opcode() { return 7; }
    public long[] nums() { return new long[] {flags, targetInRoot ? 1 : 0}; }
    public List<String> strings() { return List.of(source, target, fstype, data); }
  }

  /** Open the (bind-mounted) rootfs as the root for every in-root path that follows. */
  record OpenRoot(String hostPath) implements PlanOp {
    public int opcode() { return 8; }
    public List<String> strings() { return List.of(hostPath); }
  }

  record MkDirs(String path, int mode) implements PlanOp {
    public int opcode() { return 9; }
    public long[] nums() { return new long[] {mode}; }
    public List<String> strings() { return List.of(path); }
  }

  /** Create an empty file if nothing is there (a bind-mount target for a file). */
  record MkFile(String path) implements PlanOp {
    public int opcode() { return 10; }
    public List<String> strings() { return List.of(path); }
  }

  /** Mask a path: read-only empty tmpfs over a directory, /dev/null over a file; absent: skip. */
  record Mask(String path) implements PlanOp {
    public int opcode() { return 11; }
    public List<String> strings() { return List.of(path); }
  }

  /** Bind a path over itself and remount it read-only, nosuid, nodev, noexec; absent: skip. */
  record ReadOnly(String path) implements PlanOp {
    public int opcode() { return 12; }
    public List<String> strings() { return List.of(path); }
  }

  /** pivot_root into the opened root and detach the old root. */
  record PivotRoot() implements PlanOp {
    public int opcode() { return 13; }
  }

  record SetRlimit(int resource, long soft, long hard) implements PlanOp {
    public int opcode() { return 14; }
    public long[] nums() { return new long[] {resource, soft, hard}; }
  }

  record SetGroups(List<Long> gids) implements PlanOp {
    public int opcode() { return 15; }
    public long[] nums() { return gids.stream().mapToLong(Long::longValue).toArray(); }
  }

  record SetResGid(long gid) implements PlanOp {
    public int opcode() { return 16; }
    public long[] nums() { return new long[] {gid}; }
  }

  record SetResUid(long uid) implements PlanOp {
    public int opcode() { return 17; }
    public long[] nums() { return new long[] {uid}; }
  }

  record KeepCaps(boolean keep) implements PlanOp {
    public int opcode() { return 18; }
    public long[] nums() { return new long[] {keep ? 1 : 0}; }
  }

  /** PR_CAPBSET_DROP each of these capability numbers. */
  record DropBounding(List<Integer> caps) implements PlanOp {
    public int opcode() { return 19; }
    public long[] nums() { return caps.stream().mapToLong(Integer::longValue).toArray(); }
  }

  record CapSet(long effective, long permitted, long inheritable) implements PlanOp {
    public int opcode() { return 20; }
    public long[] nums() { return new long[] {effective, permitted, inheritable}; }
  }

  record RaiseAmbient(List<Integer> caps) implements PlanOp {
    public int opcode() { return 21; }
    public long[] nums() { return caps.stream().mapToLong(Integer::longValue).toArray(); }
  }

  record NoNewPrivs() implements PlanOp {
    public int opcode() { return 22; }
  }

  record Chdir(String path) implements PlanOp {
    public int opcode() { return 23; }
    public List<String> strings() { return List.of(path); }
  }

  /** Tell the caller the container is set up (create has finished). */
  record Ready() implements PlanOp {
    public int opcode() { return 24; }
  }

  /** Block until the caller starts the container. */
  record WaitStart() implements PlanOp {
    public int opcode() { return 25; }
  }

  /** execve; a bare command name is searched in {@code searchPath} (the container's PATH). */
  record Exec(String searchPath, List<String> argv, List<String> env) implements PlanOp {
    public int opcode() { return 26; }
    public long[] nums() { return new long[] {argv.size()}; }
    public List<String> strings() {
      var all = new java.util.ArrayList<String>(1 + argv.size() + env.size());
      all.add(searchPath);
      all.addAll(argv);
      all.addAll(env);
      return all;
    }
  }

  record Symlink(String linkTarget, String path) implements PlanOp {
    public int opcode() { return 27; }
    public List<String> strings() { return List.of(linkTarget, path); }
  }

  /** Make fd 0 (a terminal) the controlling terminal. */
  record SetCtty() implements PlanOp {
    public int opcode() { return 28; }
  }

  /**
   * Before FORK: the relay leaves early so that the container outlives the caller (a runc-style
   * create, or a detached exec). {@code mode} 1: at READY (the process waits on an exec FIFO);
   * 2: once execve ran. The container then gets no parent-death signal.
   */
  record Detach(int mode) implements PlanOp {
    public static final int AT_READY = 1;
    public static final int AT_EXEC = 2;

    public int opcode() { return 29; }
    public long[] nums() { return new long[] {mode}; }
  }

  /**
   * Make a pty in the container's devpts ({@code dev/ptmx} in the root), send its master to the
   * Unix socket at {@code socketPath} (SCM_RIGHTS) and make the slave fds 0-2.
   */
  record Console(String socketPath) implements PlanOp {
    public int opcode() { return 30; }
    public List<String> strings() { return List.of(socketPath); }
  }

  /**
   * seccomp(SECCOMP_SET_MODE_FILTER) with these flags and this program (each number one
   * {@code struct sock_filter}, see {@link SeccompFilter}).
   */
  record Seccomp(SeccompFilter filter) implements PlanOp {
    public int opcode() { return 31; }
    public long[] nums() {
      long[] program = filter.program();
      long[] all = new long[1 + program.length];
      all[0] = filter.flags();
      System.arraycopy(program, 0, all, 1, program.length);
      return all;
    }
  }

  /** A step name for the helper's step code (an opcode or one of its own steps). */
  /**
   * What a user needs to read when operation {@code index} (counted from 1) of {@code plan}
   * failed with {@code errno}, in the container's own terms (its command, its paths), or null
   * when the step's name and errno say it all.
   */
  static String failureHeadline(List<PlanOp> plan, int index, int errno) {
    if (plan == null || index < 1 || index > plan.size()) {
      return null;
    }
    final int enoent = 2;
    final int eacces = 13;
    return switch (plan.get(index - 1)) {
      case Exec e when errno == enoent && e.argv().getFirst().contains("/") ->
          "executable file " + e.argv().getFirst() + " not found in the container";
      case Exec e when errno == enoent ->
          "executable file '" + e.argv().getFirst() + "' not found in the container's PATH ("
              + e.searchPath() + ")";
      case Exec e when errno == eacces ->
          "executable file '" + e.argv().getFirst() + "' is not executable in the container";
      case Exec e -> "cannot execute '" + e.argv().getFirst() + "'";
      case Chdir c -> "cannot enter the working directory " + c.path();
      default -> null;
    };
  }

  static String stepName(int step) {
    return switch (step) {
      case 1 -> "join cgroup";
      case 2 -> "unshare";
      case 3 -> "setns";
      case 4 -> "fork";
      case 5 -> "setsid";
      case 6 -> "sethostname";
      case 7 -> "mount";
      case 8 -> "open root";
      case 9 -> "mkdir";
      case 10 -> "create file";
      case 11 -> "mask path";
      case 12 -> "read-only path";
      case 13 -> "pivot_root";
      case 14 -> "setrlimit";
      case 15 -> "setgroups";
      case 16 -> "setresgid";
      case 17 -> "setresuid";
      case 18 -> "keep capabilities";
      case 19 -> "drop bounding capabilities";
      case 20 -> "capset";
      case 21 -> "raise ambient capabilities";
      case 22 -> "no_new_privs";
      case 23 -> "chdir";
      case 24 -> "report ready";
      case 25 -> "wait for start";
      case 26 -> "execve";
      case 27 -> "symlink";
      case 28 -> "set controlling terminal";
      case 29 -> "detach";
      case 30 -> "console socket";
      case 31 -> "seccomp filter";
      case 100 -> "read plan";
      case 101 -> "decode plan";
      case 102 -> "relay";
      default -> "step " + step;
    };
  }
}

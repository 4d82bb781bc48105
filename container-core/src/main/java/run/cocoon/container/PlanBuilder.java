package run.cocoon.container;

import static run.cocoon.container.MountOptions.MS_BIND;
import static run.cocoon.container.MountOptions.MS_PRIVATE;
import static run.cocoon.container.MountOptions.MS_RDONLY;
import static run.cocoon.container.MountOptions.MS_REC;
import static run.cocoon.container.MountOptions.MS_REMOUNT;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.container.seccomp.SeccompFilter;

/**
 * Turns a validated {@link ContainerConfig} into the helper's list of operations. All policy
 * lives here: which namespaces, the order of mounts, default devices, how read-only binds are
 * done, the order of credential changes.
 */
public final class PlanBuilder {
  /** Device nodes bound from the host's /dev when the container gets its own /dev. */
  public static final List<String> DEFAULT_DEVICES =
      List.of("null", "zero", "full", "random", "urandom", "tty");
  /** Namespace files joined by exec, in order (mount last: it changes what /proc means). */
  private static final List<Object[]> EXEC_NAMESPACES = List.of(
      new Object[] {"cgroup", SpecValidator.CLONE_NEWCGROUP},
      new Object[] {"ipc", SpecValidator.CLONE_NEWIPC},
      new Object[] {"uts", SpecValidator.CLONE_NEWUTS},
      new Object[] {"net", SpecValidator.CLONE_NEWNET},
      new Object[] {"pid", SpecValidator.CLONE_NEWPID},
      new Object[] {"mnt", SpecValidator.CLONE_NEWNS});

  private PlanBuilder() {}

  /** The plan for creating a container whose process waits for start before its execve. */
  public static List<PlanOp> create(ContainerConfig c, List<String> cgroupProcsFiles, int capLastCap) {
    return create(c, cgroupProcsFiles, capLastCap, null);
  }

  /**
   * {@link #create(ContainerConfig, List, int)} where, if {@code consoleSocket} is not null, the
   * process's pty is made in its own devpts once it is mounted and its master sent there.
   */
  public static List<PlanOp> create(ContainerConfig c, List<String> cgroupProcsFiles, int capLastCap,
      String consoleSocket) {
    List<PlanOp> ops = new ArrayList<>();
    // The relay unshares (or joins) only the PID namespace: it applies to the children it forks.
    for (ContainerConfig.NamespaceJoin j : c.joins()) {
      if (j.cloneFlag() == SpecValidator.CLONE_NEWPID) {
        ops.add(new PlanOp.SetNs(j.path(), j.cloneFlag()));
      }
    }
    if ((c.unshareFlags() & SpecValidator.CLONE_NEWPID) != 0) {
      ops.add(new PlanOp.Unshare(SpecValidator.CLONE_NEWPID));
    }
    ops.add(new PlanOp.Fork());
    // The container process joins its cgroup before its cgroup namespace is made, so that the
    // namespace is rooted at the container's cgroup.
    for (String f : cgroupProcsFiles) {
      ops.add(new PlanOp.JoinCgroup(f));
    }
    for (ContainerConfig.NamespaceJoin j : c.joins()) {
      if (j.cloneFlag() != SpecValidator.CLONE_NEWPID) {
        ops.add(new PlanOp.SetNs(j.path(), j.cloneFlag()));
      }
    }
    ops.add(new PlanOp.Unshare(c.unshareFlags() & ~SpecValidator.CLONE_NEWPID));
    ops.add(new PlanOp.SetSid());
    if (c.process().terminal() && consoleSocket == null) {
      ops.add(new PlanOp.SetCtty());
    }
    if (c.hostname() != null) {
      ops.add(new PlanOp.Hostname(c.hostname()));
    }
    String root = c.rootfs().toString();
    ops.add(new PlanOp.Mount("", "/", false, "", MS_REC | MS_PRIVATE, ""));
    ops.add(new PlanOp.Mount(root, root, false, "", MS_BIND | MS_REC, ""));
    ops.add(new PlanOp.OpenRoot(root));
    boolean ownDev = false;
    boolean devpts = false;
    for (ContainerConfig.MountSpec m : c.mounts()) {
      String rel = m.destination().substring(1);
      ownDev |= m.destination().equals("/dev");
      devpts |= m.destination().equals("/dev/pts") && m.type().equals("devpts");
      MountOptions o = m.options();
      switch (m.type()) {
        case "cgroup", "cgroup2" -> {
          continue; // not mounted yet (docs/containers.md, limitations)
        }
        case "bind" -> {
          if (Files.isDirectory(Path.of(m.source()))) {
            ops.add(new PlanOp.MkDirs(rel, 0755));
          } else {
            int slash = rel.lastIndexOf('/');
            if (slash > 0) {
              ops.add(new PlanOp.MkDirs(rel.substring(0, slash), 0755));
            }
            ops.add(new PlanOp.MkFile(rel));
          }
          ops.add(new PlanOp.Mount(m.source(), rel, true, "", MS_BIND | (o.recursive() ? MS_REC : 0), ""));
          if (o.flags() != 0) {
            ops.add(new PlanOp.Mount("", rel, true, "", MS_BIND | MS_REMOUNT | o.flags(), ""));
          }
        }
        default -> {
          ops.add(new PlanOp.MkDirs(rel, 0755));
          ops.add(new PlanOp.Mount(m.source(), rel, true, m.type(), o.flags(), o.data()));
        }
      }
      if (o.propagation() != 0) {
        ops.add(new PlanOp.Mount("", rel, true, "", o.propagation(), ""));
      }
    }
    if (ownDev) {
      for (String d : DEFAULT_DEVICES) {
        ops.add(new PlanOp.MkFile("dev/" + d));
        ops.add(new PlanOp.Mount("/dev/" + d, "dev/" + d, true, "", MS_BIND, ""));
      }
      ops.add(new PlanOp.Symlink("/proc/self/fd", "dev/fd"));
      ops.add(new PlanOp.Symlink("/proc/self/fd/0", "dev/stdin"));
      ops.add(new PlanOp.Symlink("/proc/self/fd/1", "dev/stdout"));
      ops.add(new PlanOp.Symlink("/proc/self/fd/2", "dev/stderr"));
      if (devpts) {
        ops.add(new PlanOp.Symlink("pts/ptmx", "dev/ptmx"));
      }
    }
    if (consoleSocket != null) {
      ops.add(new PlanOp.Console(consoleSocket));
      ops.add(new PlanOp.SetCtty());
    }
    for (String p : c.maskedPaths()) {
      ops.add(new PlanOp.Mask(p.substring(1)));
    }
    for (String p : c.readonlyPaths()) {
      ops.add(new PlanOp.ReadOnly(p.substring(1)));
    }
    ops.add(new PlanOp.PivotRoot());
    if (c.readonlyRoot()) {
      ops.add(new PlanOp.Mount("", "/", false, "", MS_BIND | MS_REMOUNT | MS_RDONLY, ""));
    }
    process(ops, c.process(), c.seccomp(), capLastCap);
    ops.add(new PlanOp.Ready());
    ops.add(new PlanOp.WaitStart());
    lateSeccomp(ops, c.process(), c.seccomp());
    ops.add(exec(c.process()));
    return ops;
  }

  /**
   * The plan for running another process in a running container: join its cgroups and its
   * namespaces (those in {@code namespaceFlags}), then the process's credentials, the container's
   * seccomp filter ({@code seccomp}, null for none) and execve.
   */
  public static List<PlanOp> exec(int containerPid, int namespaceFlags, List<String> cgroupProcsFiles,
      ContainerConfig.ProcessConfig p, SeccompFilter seccomp, int capLastCap) {
    List<PlanOp> ops = new ArrayList<>();
    if ((namespaceFlags & SpecValidator.CLONE_NEWPID) != 0) {
      ops.add(new PlanOp.SetNs("/proc/" + containerPid + "/ns/pid", SpecValidator.CLONE_NEWPID));
    }
    ops.add(new PlanOp.Fork());
    for (String f : cgroupProcsFiles) {
      ops.add(new PlanOp.JoinCgroup(f));
    }
    for (Object[] ns : EXEC_NAMESPACES) {
      int flag = (Integer) ns[1];
      if ((namespaceFlags & flag) != 0 && flag != SpecValidator.CLONE_NEWPID) {
        ops.add(new PlanOp.SetNs("/proc/" + containerPid + "/ns/" + ns[0], flag));
      }
    }
    ops.add(new PlanOp.SetSid());
    if (p.terminal()) {
      ops.add(new PlanOp.SetCtty());
    }
    process(ops, p, seccomp, capLastCap);
    ops.add(new PlanOp.Ready());
    lateSeccomp(ops, p, seccomp);
    ops.add(exec(p));
    return ops;
  }

  private static void process(List<PlanOp> ops, ContainerConfig.ProcessConfig p,
      SeccompFilter seccomp, int capLastCap) {
    for (ContainerConfig.Rlimit r : p.rlimits()) {
      ops.add(new PlanOp.SetRlimit(r.resource(), r.soft(), r.hard()));
    }
    // Without no_new_privs the kernel takes a filter only from a process with CAP_SYS_ADMIN, so
    // (like runc) it is installed while the helper still has it, and the credential changes,
    // chdir and the wait for start run under it.
    if (seccomp != null && !p.noNewPrivileges()) {
      ops.add(new PlanOp.Seccomp(seccomp));
    }
    Capabilities.Sets caps = p.capabilities();
    List<Integer> drop = new ArrayList<>();
    for (int i = 0; i <= Math.min(capLastCap, 63); i++) {
      if ((caps.bounding() & (1L << i)) == 0) {
        drop.add(i);
      }
    }
    ops.add(new PlanOp.DropBounding(drop));
    ops.add(new PlanOp.KeepCaps(true));
    ops.add(new PlanOp.SetGroups(p.additionalGids()));
    ops.add(new PlanOp.SetResGid(p.gid()));
    ops.add(new PlanOp.SetResUid(p.uid()));
    ops.add(new PlanOp.KeepCaps(false));
    ops.add(new PlanOp.CapSet(caps.effective(), caps.permitted(), caps.inheritable()));
    List<Integer> ambient = new ArrayList<>();
    // The kernel raises an ambient capability only if it is permitted and inheritable; like
    // runc, others are left out rather than failing the container (runc's own `spec` lists
    // ambient capabilities without inheritable ones).
    long raisable = caps.ambient() & caps.permitted() & caps.inheritable();
    for (int i = 0; i < 64; i++) {
      if ((raisable & (1L << i)) != 0) {
        ambient.add(i);
      }
    }
    if (!ambient.isEmpty()) {
      ops.add(new PlanOp.RaiseAmbient(ambient));
    }
    if (p.noNewPrivileges()) {
      ops.add(new PlanOp.NoNewPrivs());
    }
    ops.add(new PlanOp.Chdir(p.cwd()));
  }

  /** With no_new_privs the filter comes last, so that it binds as few of the helper's calls as can be. */
  private static void lateSeccomp(List<PlanOp> ops, ContainerConfig.ProcessConfig p,
      SeccompFilter seccomp) {
    if (seccomp != null && p.noNewPrivileges()) {
      ops.add(new PlanOp.Seccomp(seccomp));
    }
  }

  private static PlanOp.Exec exec(ContainerConfig.ProcessConfig p) {
    return new PlanOp.Exec(p.searchPath(), p.args(), p.env());
  }

  /** /proc/sys/kernel/cap_last_cap, or the last capability this library knows. */
  public static int capLastCap() {
    try {
      return Integer.parseInt(ProcFiles.read(Path.of("/proc/sys/kernel/cap_last_cap")).trim());
    } catch (Exception e) {
      return Capabilities.LAST_KNOWN;
    }
  }

}

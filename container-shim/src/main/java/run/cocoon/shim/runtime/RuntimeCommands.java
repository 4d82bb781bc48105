package run.cocoon.shim.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import run.cocoon.container.ConsoleSocket;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerId;
import run.cocoon.container.ContainerProcess;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.OciSpec;
import run.cocoon.container.SpecValidator;
import run.cocoon.container.Stdio;
import run.cocoon.container.seccomp.SeccompFilter;
import run.cocoon.shim.run.Isolation;
import run.cocoon.shim.run.StateFiles;

/** The runc-compatible subcommands of {@code cocoon-runtime}. */
final class RuntimeCommands {
  static final String OCI_VERSION = "1.0.2";
  /** Console size until the client (conmon) resizes it. */
  private static final int TTY_ROWS = 24;
  private static final int TTY_COLS = 80;

  private RuntimeCommands() {}

  /** Common plumbing: the global options and the id argument, validated before anything else. */
  abstract static class Base implements Callable<Integer> {
    @ParentCommand RuntimeMain main;

    static ContainerId id(String raw) {
      try {
        return new ContainerId(raw);
      } catch (RuntimeException e) {
        throw new RuntimeCliException("invalid container id: " + e.getMessage());
      }
    }

    StateDir state() {
      return main.stateDir();
    }

    static boolean vm(RuntimeState s) {
      return "vm".equals(s.isolation());
    }

    RuntimeState existing(ContainerId id) {
      RuntimeState s = state().load(id);
      if (s == null) {
        throw new RuntimeCliException("container " + id + " was not fully created; delete --force removes it");
      }
      return s;
    }
  }

  /** Options shared by create and run. */
  abstract static class CreateBase extends Base {
    @Option(names = {"--bundle", "-b"}, description = "bundle directory (default: current directory)")
    Path bundle = Path.of("");

    @Option(names = "--pid-file", description = "write the container's pid here")
    Path pidFile;

    @Option(names = "--console-socket", description = "Unix socket receiving the pty master")
    Path consoleSocket;

    @Option(names = {"--no-pivot", "--no-new-keyring"}, description = "accepted, ignored")
    boolean ignored;

    @Option(names = "--preserve-fds", description = "accepted; only 0 is supported")
    int preserveFds;

    @Parameters(index = "0", description = "container id")
    String rawId;

    /** In VM isolation, the VM keeper this JVM started (its parent, so {@code run} can wait). */
    Process keeper;

    /** Validates everything, creates the container blocked before execve, records its state. */
    RuntimeState create() throws IOException {
      ContainerId id = id(rawId);
      Path b = bundle.toAbsolutePath().normalize();
      OciSpec spec = OciSpec.read(b.resolve("config.json"));
      ContainerConfig config = SpecValidator.validate(spec, b);
      String iso = main.isolation != null ? main.isolation
          : config.annotations().getOrDefault(Isolation.ANNOTATION, "container");
      Isolation.named(iso).checkAvailable();
      if (preserveFds != 0) {
        throw new RuntimeCliException("--preserve-fds is not supported");
      }
      if (config.process().terminal() && consoleSocket == null) {
        throw new RuntimeCliException("process.terminal is true but no --console-socket was given");
      }
      if (main.systemdCgroup) {
        main.log("info", "--systemd-cgroup: cgroups are managed directly (cgroupfs)");
      }
      if (Isolation.named(iso).name().equals("vm")) {
        return createVm(id, b, config, VmRuntime.check(spec, config));
      }
      ContainerRuntime rt = ContainerRuntime.defaults();
      StateDir sd = state();
      sd.claim(id);
      boolean done = false;
      try {
        Map<String, String> cg = new LinkedHashMap<>();
        rt.cgroups().bases().forEach((k, v) -> cg.put(k, v.resolve(id.value()).toString()));
        RuntimeState s = new RuntimeState(OCI_VERSION, id.value(), b.toString(),
            config.rootfs().toString(), 0, 0, Instant.now().toString(), cg, 0,
            config.annotations(), iso);
        sd.save(s); // before any side effect: delete --force finds the cgroup of a killed create
        DetachedContainer.Handle h;
        if (config.process().terminal()) {
          // The pty is made inside the container's devpts and its master sent by the helper.
          h = DetachedContainer.create(id, config,
              Stdio.consoleSocket(consoleSocket.toAbsolutePath().toString()), rt, sd.execFifo(id));
        } else {
          // The caller's fds 0-2 (conmon's pipes) become the container's.
          h = DetachedContainer.create(id, config, Stdio.fds(0, 1, 2), rt, sd.execFifo(id));
        }
        Map<String, String> dirs = new LinkedHashMap<>();
        h.cgroup().forEach((k, v) -> dirs.put(k, v.toString()));
        s = new RuntimeState(OCI_VERSION, id.value(), b.toString(), config.rootfs().toString(),
            h.pid(), h.startTime(), s.created(), dirs, h.namespaceFlags(), config.annotations(), iso);
        sd.save(s);
        writePidFile(pidFile, h.pid());
        main.log("debug", "created " + id + " pid " + h.pid());
        done = true;
        return s;
      } finally {
        if (!done) {
          RuntimeState s = null;
          try {
            s = sd.load(id);
          } catch (RuntimeException ignored) {
            // nothing recorded
          }
          if (s != null && s.pid() != 0) {
            DetachedContainer.delete(s.handle());
          }
          sd.remove(id);
        }
      }
    }

    private RuntimeState createVm(ContainerId id, Path b, ContainerConfig config, VmBundle vmb)
        throws IOException {
      StateDir sd = state();
      sd.claim(id);
      boolean done = false;
      try {
        VmRuntime.Created c = VmRuntime.create(main, sd, id, b, config, vmb);
        keeper = c.keeper();
        writePidFile(pidFile, c.state().pid());
        main.log("debug", "created " + id + " in a VM, keeper pid " + c.state().pid());
        done = true;
        return c.state();
      } finally {
        if (!done) {
          VmRuntime.delete(sd, id, null);
        }
      }
    }
  }

  static void writePidFile(Path pidFile, int pid) throws IOException {
    if (pidFile == null) {
      return;
    }
    Path abs = pidFile.toAbsolutePath();
    Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
    Files.writeString(tmp, Integer.toString(pid), StandardCharsets.US_ASCII);
    Files.move(tmp, abs, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Command(name = "create", description = "Create a container; its process waits for start.")
  static final class Create extends CreateBase {
    @Override
    public Integer call() throws IOException {
      create();
      return 0;
    }
  }

  @Command(name = "start", description = "Start a created container.")
  static final class Start extends Base {
    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() {
      ContainerId id = id(rawId);
      RuntimeState s = existing(id);
      String status = state().status(s);
      switch (status) {
        case "created" -> {
          if (vm(s)) {
            VmRuntime.start(state(), s);
          } else {
            DetachedContainer.start(state().execFifo(id));
          }
        }
        case "stopped" -> throw new RuntimeCliException("cannot start a container that has stopped");
        default -> throw new RuntimeCliException("cannot start an already running container");
      }
      return 0;
    }
  }

  @Command(name = "state", description = "Print a container's state as OCI state JSON.")
  static final class State extends Base {
    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() throws IOException {
      ContainerId id = id(rawId);
      RuntimeState s = existing(id);
      System.out.println(StateFiles.JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsString(ociState(s, state().status(s))));
      return 0;
    }
  }

  static Map<String, Object> ociState(RuntimeState s, String status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ociVersion", s.ociVersion());
    m.put("id", s.id());
    m.put("pid", status.equals("stopped") ? 0 : s.pid());
    m.put("status", status);
    m.put("bundle", s.bundle());
    m.put("rootfs", s.rootfs());
    m.put("created", s.created());
    m.put("owner", "");
    if (!s.annotations().isEmpty()) {
      m.put("annotations", s.annotations());
    }
    return m;
  }

  @Command(name = "kill", description = "Send a signal (default SIGTERM) to the container.")
  static final class Kill extends Base {
    @Option(names = {"--all", "-a"}, description = "signal every process of the container")
    boolean all;

    @Parameters(index = "0") String rawId;

    @Parameters(index = "1", arity = "0..1") String signal = "SIGTERM";

    @Override
    public Integer call() {
      ContainerId id = id(rawId);
      int sig = Signals.parse(signal);
      RuntimeState s = existing(id);
      String status = state().status(s);
      if (!status.equals("created") && !status.equals("running")) {
        throw new RuntimeCliException("container not running");
      }
      if (vm(s)) {
        VmRuntime.kill(state(), s, sig, all);
      } else if (all) {
        DetachedContainer.signalAll(s.handle(), sig);
      } else if (!DetachedContainer.signal(s.handle(), sig)) {
        throw new RuntimeCliException("container not running");
      }
      return 0;
    }
  }

  @Command(name = "delete", description = "Delete a container (kill it first with --force).")
  static final class Delete extends Base {
    @Option(names = {"--force", "-f"}) boolean force;

    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() throws IOException {
      ContainerId id = id(rawId);
      StateDir sd = state();
      if (!sd.exists(id)) {
        if (force) {
          return 0;
        }
        throw new RuntimeCliException("container does not exist");
      }
      RuntimeState s = sd.load(id);
      if (s != null && vm(s) || s == null && Files.exists(sd.dir(id).resolve(VmRuntime.KEEPER))) {
        if ((s == null || s.pid() == 0) && !force) {
          throw new RuntimeCliException("container " + id + " is being created; use --force");
        }
        if (s != null && s.pid() != 0 && !force && sd.status(s).equals("running")) {
          throw new RuntimeCliException("cannot delete container " + id + " that is not stopped: running");
        }
        VmRuntime.delete(sd, id, s);
        return 0;
      }
      if (s == null || s.pid() == 0) {
        if (!force) {
          throw new RuntimeCliException("container " + id + " is being created; use --force");
        }
        if (s != null) {
          // Create died midway: kill whatever joined the recorded cgroup, then remove it.
          DetachedContainer.cgroup(s.handle()).destroy();
        }
      } else {
        String status = sd.status(s);
        if (status.equals("running") && !force) {
          throw new RuntimeCliException("cannot delete container " + id + " that is not stopped: running");
        }
        DetachedContainer.delete(s.handle());
      }
      sd.remove(id);
      return 0;
    }
  }

  @Command(name = "run", description = "Create and start a container; wait for it unless --detach.")
  static final class Run extends CreateBase {
    @Option(names = {"--detach", "-d"}) boolean detach;

    @Option(names = "--keep", description = "keep the container's state after it exits")
    boolean keep;

    @Override
    public Integer call() throws IOException {
      if (!detach) {
        // The container is re-parented to us when its relay leaves: we can wait for it.
        HostProcesses.becomeSubreaper();
      }
      RuntimeState s = create();
      ContainerId id = new ContainerId(s.id());
      if (vm(s)) {
        VmRuntime.start(state(), s);
        if (detach) {
          return 0;
        }
        int code;
        try {
          code = keeper.waitFor();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeCliException("interrupted");
        }
        if (!keep) {
          VmRuntime.delete(state(), id, s);
        }
        return code;
      }
      DetachedContainer.start(state().execFifo(id));
      if (detach) {
        return 0;
      }
      ExitStatus st = HostProcesses.waitForChild(s.pid());
      if (!keep) {
        DetachedContainer.delete(s.handle());
        state().remove(id);
      }
      return exitCode(st);
    }
  }

  static int exitCode(ExitStatus st) {
    return switch (st) {
      case ExitStatus.Exited e -> e.code();
      case ExitStatus.Signaled sg -> 128 + sg.signal();
    };
  }

  @Command(name = "exec", description = "Run a process in a running container.")
  static final class Exec extends Base {
    @Option(names = {"--process", "-p"}, description = "process.json (OCI process object)")
    Path process;

    @Option(names = {"--tty", "-t"}) boolean tty;

    @Option(names = "--console-socket") Path consoleSocket;

    @Option(names = "--pid-file") Path pidFile;

    @Option(names = {"--detach", "-d"}) boolean detach;

    @Option(names = "--cwd") String cwd;

    @Option(names = {"--env", "-e"}) List<String> env = new ArrayList<>();

    @Option(names = "--preserve-fds") int preserveFds;

    @Parameters(index = "0") String rawId;

    @Parameters(index = "1..*") List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
      ContainerId id = id(rawId);
      OciSpec.Process p;
      if (process != null) {
        byte[] data;
        try (var in = Files.newInputStream(process)) {
          data = in.readNBytes(StateFiles.MAX_STATE_BYTES + 1);
        }
        if (data.length > StateFiles.MAX_STATE_BYTES) {
          throw new RuntimeCliException("process.json is over " + StateFiles.MAX_STATE_BYTES + " bytes");
        }
        p = StateFiles.JSON.readValue(data, OciSpec.Process.class);
      } else {
        if (command.isEmpty()) {
          throw new RuntimeCliException("exec needs --process or a command");
        }
        List<String> e = new ArrayList<>(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        e.addAll(env);
        p = new OciSpec.Process(tty, null, command, e, cwd == null ? "/" : cwd, null, null, false);
      }
      ContainerConfig.ProcessConfig pc = SpecValidator.validateProcess(p, "process");
      RuntimeState s = existing(id);
      if (!state().status(s).equals("running")) {
        throw new RuntimeCliException("cannot exec in a stopped container");
      }
      if (vm(s)) {
        return VmRuntime.exec(state(), s, p, detach);
      }
      SeccompFilter seccomp = SpecValidator.bundleSeccomp(Path.of(s.bundle()));
      ContainerProcess proc;
      if (pc.terminal()) {
        if (consoleSocket == null) {
          throw new RuntimeCliException("process.terminal is true but no --console-socket was given");
        }
        try (ConsoleSocket.Pty pty = ConsoleSocket.openPty(TTY_ROWS, TTY_COLS)) {
          proc = DetachedContainer.exec(s.handle(), pc, seccomp,
              Stdio.fds(pty.slave(), pty.slave(), pty.slave()),
              ContainerRuntime.defaults(), detach);
          ConsoleSocket.send(consoleSocket.toString(), pty.master());
        }
      } else {
        proc = DetachedContainer.exec(s.handle(), pc, seccomp, Stdio.fds(0, 1, 2), ContainerRuntime.defaults(),
            detach);
      }
      writePidFile(pidFile, proc.pid());
      if (detach) {
        return 0;
      }
      return exitCode(proc.waitFor());
    }
  }

  @Command(name = "list", description = "List containers.")
  static final class ListCmd extends Base {
    @Option(names = {"--format", "-f"}) String format = "table";

    @Option(names = {"--quiet", "-q"}) boolean quiet;

    @Override
    public Integer call() throws IOException {
      List<Map<String, Object>> rows = new ArrayList<>();
      for (ContainerId id : state().ids()) {
        RuntimeState s;
        try {
          s = state().load(id);
        } catch (RuntimeException e) {
          continue; // vanished or corrupt: not listed
        }
        if (s != null) {
          rows.add(ociState(s, state().status(s)));
        }
      }
      if (quiet) {
        rows.forEach(r -> System.out.println(r.get("id")));
      } else if (format.equals("json")) {
        System.out.println(StateFiles.JSON.writeValueAsString(rows));
      } else {
        System.out.printf("%-20s %-8s %-10s %-40s %-30s %s%n", "ID", "PID", "STATUS", "BUNDLE",
            "CREATED", "OWNER");
        for (Map<String, Object> r : rows) {
          System.out.printf("%-20s %-8s %-10s %-40s %-30s %s%n", r.get("id"), r.get("pid"),
              r.get("status"), r.get("bundle"), r.get("created"), "root");
        }
      }
      return 0;
    }
  }

  @Command(name = "ps", description = "List the processes of a container.")
  static final class Ps extends Base {
    @Option(names = {"--format", "-f"}) String format = "table";

    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() throws IOException {
      RuntimeState s = existing(id(rawId));
      // In VM isolation the container's processes are in the guest; the host process that holds
      // them is the keeper.
      List<Integer> pids = vm(s)
          ? (state().status(s).equals("stopped") ? List.of() : List.of(s.pid()))
          : new ArrayList<>(DetachedContainer.pids(s.handle()));
      if (format.equals("json")) {
        System.out.println(StateFiles.JSON.writeValueAsString(pids));
        return 0;
      }
      System.out.printf("%-8s %s%n", "PID", "CMD");
      for (int pid : pids) {
        String comm;
        try {
          comm = Files.readString(Path.of("/proc/" + pid + "/comm")).trim();
        } catch (IOException e) {
          continue;
        }
        System.out.printf("%-8d %s%n", pid, comm);
      }
      return 0;
    }
  }

  @Command(name = "features", description = "Print what this runtime supports (OCI features JSON).")
  static final class Features extends Base {
    @Override
    public Integer call() throws IOException {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("ociVersionMin", "1.0.0");
      m.put("ociVersionMax", OCI_VERSION);
      m.put("hooks", List.of());
      m.put("mountOptions", List.of("bind", "rbind", "ro", "rw", "nosuid", "suid", "nodev", "dev",
          "noexec", "exec", "sync", "async", "dirsync", "atime", "noatime", "diratime",
          "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime", "mand",
          "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
          "runbindable"));
      Map<String, Object> linux = new LinkedHashMap<>();
      linux.put("namespaces", List.of("cgroup", "ipc", "mount", "network", "pid", "uts"));
      linux.put("capabilities", run.cocoon.container.Capabilities.NAMES);
      linux.put("cgroup", Map.of("v1", true, "v2", true, "systemd", false, "systemdUser", false));
      linux.put("seccomp", run.cocoon.container.seccomp.SeccompFeatures.asOciFeatures());
      linux.put("apparmor", Map.of("enabled", false));
      linux.put("selinux", Map.of("enabled", false));
      m.put("linux", linux);
      m.put("annotations", Map.of(Isolation.ANNOTATION, "container | vm"));
      System.out.println(StateFiles.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
      return 0;
    }
  }
}

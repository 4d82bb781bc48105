package run.cocoon.shim.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerId;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.OciSpec;
import run.cocoon.container.SpecValidator;
import run.cocoon.shim.lifecycle.ContainerState;
import run.cocoon.shim.lifecycle.ContainerStore;
import run.cocoon.shim.lifecycle.CreateRequest;
import run.cocoon.shim.lifecycle.ExecRequest;
import run.cocoon.shim.lifecycle.Lifecycle;
import run.cocoon.shim.lifecycle.Signals;
import run.cocoon.shim.lifecycle.StateFiles;
import run.cocoon.shim.lifecycle.Status;

/**
 * The runc-compatible subcommands of {@code cocoon-runtime}: each parses runc's command line,
 * finds the container in the store and hands the work to its {@link Lifecycle}.
 */
final class RuntimeCommands {
  static final String OCI_VERSION = ContainerState.OCI_VERSION;
  static final String PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

    ContainerStore store() {
      return main.store();
    }

    /** A recorded container and its lifecycle. */
    Found existing(ContainerId id) {
      ContainerState s = store().load(id);
      return new Found(s, Lifecycle.of(s));
    }
  }

  /** A recorded container with its lifecycle, and what that lifecycle says its status is. */
  record Found(ContainerState state, Lifecycle lifecycle) {
    Status status(ContainerStore store) {
      return lifecycle.status(store, state);
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

    /** Validates everything, creates the container blocked before execve, records its state. */
    Lifecycle.Created create() throws IOException {
      ContainerId id = id(rawId);
      Path b = bundle.toAbsolutePath().normalize();
      OciSpec spec = OciSpec.read(b.resolve("config.json"));
      ContainerConfig config = SpecValidator.validate(spec, b);
      String iso = main.isolation != null ? main.isolation
          : config.annotations().getOrDefault(Lifecycle.ANNOTATION, "container");
      Lifecycle lifecycle = Lifecycle.named(iso);
      lifecycle.checkAvailable();
      if (preserveFds != 0) {
        throw new RuntimeCliException("--preserve-fds is not supported");
      }
      if (config.process().terminal() && consoleSocket == null) {
        throw new RuntimeCliException("process.terminal is true but no --console-socket was given");
      }
      if (main.systemdCgroup) {
        main.log("info", "--systemd-cgroup: cgroups are managed directly (cgroupfs)");
      }
      Lifecycle.Created c = lifecycle.create(store(),
          new CreateRequest(id, b, spec, config, consoleSocket, m -> main.log("debug", m)));
      writePidFile(pidFile, c.state().pid());
      return c;
    }
  }

  static void writePidFile(Path pidFile, int pid) throws IOException {
    if (pidFile == null) {
      return;
    }
    Path abs = pidFile.toAbsolutePath();
    Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
    Files.writeString(tmp, Integer.toString(pid), StandardCharsets.US_ASCII);
    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
      Found f = existing(id(rawId));
      switch (f.status(store())) {
        case CREATED -> f.lifecycle().start(store(), f.state());
        case STOPPED -> throw new RuntimeCliException("cannot start a container that has stopped");
        case CREATING -> throw new RuntimeCliException("cannot start a container that is being created");
        case RUNNING -> throw new RuntimeCliException("cannot start an already running container");
      }
      return 0;
    }
  }

  @Command(name = "state", description = "Print a container's state as OCI state JSON.")
  static final class State extends Base {
    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() throws IOException {
      Found f = existing(id(rawId));
      System.out.println(StateFiles.JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsString(ociState(f.state(), f.status(store()))));
      return 0;
    }
  }

  static Map<String, Object> ociState(ContainerState s, Status status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ociVersion", s.ociVersion());
    m.put("id", s.id());
    m.put("pid", status == Status.STOPPED ? 0 : s.pid());
    m.put("status", status.oci());
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
      int sig = Signals.parse(signal);
      Found f = existing(id(rawId));
      if (!f.status(store()).alive()) {
        throw new RuntimeCliException("container not running");
      }
      f.lifecycle().signal(store(), f.state(), sig, all);
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
      ContainerStore store = store();
      if (!store.exists(id)) {
        if (force) {
          return 0;
        }
        throw new RuntimeCliException("container does not exist");
      }
      Optional<ContainerState> recorded = store.find(id);
      if (recorded.isEmpty()) {
        if (!force) {
          throw new RuntimeCliException("container " + id + " is being created; use --force");
        }
        Lifecycle.deleteUnrecorded(store, id);
        return 0;
      }
      ContainerState s = recorded.get();
      Lifecycle lifecycle = Lifecycle.of(s);
      Status status = lifecycle.status(store, s);
      if (status == Status.CREATING && !force) {
        throw new RuntimeCliException("container " + id + " is being created; use --force");
      }
      if (status == Status.RUNNING && !force) {
        throw new RuntimeCliException("cannot delete container " + id + " that is not stopped: running");
      }
      lifecycle.delete(store, s);
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
      Lifecycle.Created c = create();
      Lifecycle lifecycle = Lifecycle.of(c.state());
      lifecycle.start(store(), c.state());
      if (detach) {
        return 0;
      }
      int code = lifecycle.awaitExit(c);
      if (!keep) {
        lifecycle.delete(store(), c.state());
      }
      return code;
    }
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
        List<String> e = new ArrayList<>(List.of(PATH_ENV));
        e.addAll(env);
        p = new OciSpec.Process(tty, null, command, e, cwd == null ? "/" : cwd, null, null, false);
      }
      SpecValidator.validateProcess(p, "process");
      Found f = existing(id);
      if (f.status(store()) != Status.RUNNING) {
        throw new RuntimeCliException("cannot exec in a stopped container");
      }
      Lifecycle.ExecResult r = f.lifecycle().exec(store(), f.state(),
          new ExecRequest(p, consoleSocket, detach));
      return switch (r) {
        case Lifecycle.ExecResult.Detached d -> {
          writePidFile(pidFile, d.pid());
          yield 0;
        }
        case Lifecycle.ExecResult.Exited x -> x.code();
      };
    }
  }

  @Command(name = "list", description = "List containers.")
  static final class ListCmd extends Base {
    @Option(names = {"--format", "-f"}) String format = "table";

    @Option(names = {"--quiet", "-q"}) boolean quiet;

    @Override
    public Integer call() throws IOException {
      List<Map<String, Object>> rows = new ArrayList<>();
      for (ContainerState s : store().list()) {
        rows.add(ociState(s, Lifecycle.of(s).status(store(), s)));
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
      Found f = existing(id(rawId));
      List<Integer> pids = f.status(store()) == Status.STOPPED ? List.of()
          : f.lifecycle().pids(store(), f.state());
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
      m.put("annotations", Map.of(Lifecycle.ANNOTATION, "container | vm"));
      System.out.println(StateFiles.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
      return 0;
    }
  }
}

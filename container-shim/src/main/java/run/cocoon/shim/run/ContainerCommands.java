package run.cocoon.shim.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import run.cocoon.container.ContainerId;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.image.ImageStore;
import run.cocoon.shim.lifecycle.ContainerState;
import run.cocoon.shim.lifecycle.ContainerStore;
import run.cocoon.shim.lifecycle.ExecRequest;
import run.cocoon.shim.lifecycle.Lifecycle;
import run.cocoon.shim.lifecycle.LifecycleException;
import run.cocoon.shim.lifecycle.Signals;
import run.cocoon.shim.lifecycle.Status;

/**
 * ps, exec, logs, kill, stop, rm and stats for containers started by {@code cocoon run}, in either
 * isolation: each finds the container in the store and asks its {@link Lifecycle}.
 */
public final class ContainerCommands {
  private ContainerCommands() {}

  public static List<Object> all() {
    return List.of(new Ps(), new Exec(), new Logs(), new Kill(), new Stop(), new Rm(), new Stats());
  }

  static ContainerStore store() {
    return ContainerStore.inHome(ImageStore.defaultRoot());
  }

  /** A recorded container, its lifecycle, and its status now. */
  record Found(ContainerState state, Lifecycle lifecycle, Status status) {
    static Found of(ContainerStore store, ContainerState s) {
      Lifecycle l = Lifecycle.of(s);
      return new Found(s, l, l.status(store, s));
    }

    static Found load(ContainerStore store, String rawId) {
      ContainerId id = new ContainerId(rawId);
      if (!store.exists(id)) {
        throw new LifecycleException("no container " + id);
      }
      return of(store, store.load(id));
    }

    /** What {@code ps} shows: the recorded exit code once the container's waiter saw it. */
    String describe() {
      if (state.exitCode() != null) {
        return "exited (" + state.exitCode() + ")";
      }
      return switch (status) {
        case CREATING -> "creating";
        case CREATED -> "created";
        case RUNNING -> "running";
        case STOPPED -> "exited (unknown)";
      };
    }

    Found running() {
      if (status != Status.RUNNING) {
        throw new LifecycleException("container " + state.id() + " is not running (" + describe() + ")");
      }
      return this;
    }
  }

  @Command(name = "ps", description = "List containers (running and exited).")
  public static final class Ps implements Callable<Integer> {
    @Option(names = {"-q", "--quiet"}, description = "print ids only") boolean quiet;

    @Override
    public Integer call() throws Exception {
      ContainerStore store = store();
      List<ContainerState> all = store.list();
      if (quiet) {
        all.forEach(r -> System.out.println(r.id()));
        return 0;
      }
      System.out.printf("%-16s %-28s %-24s %-10s %s%n", "ID", "IMAGE", "COMMAND", "ISOLATION", "STATUS");
      for (ContainerState s : all) {
        String cmd = String.join(" ", s.command());
        System.out.printf("%-16s %-28s %-24s %-10s %s%n", s.id(), s.image(),
            cmd.length() > 24 ? cmd.substring(0, 21) + "..." : cmd, s.isolation(),
            Found.of(store, s).describe());
      }
      return 0;
    }
  }

  @Command(name = "exec", description = "Run a command in a running container.")
  public static final class Exec implements Callable<Integer> {
    @Option(names = {"-e", "--env"}, description = "KEY=VALUE") List<String> env = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}, description = "working directory (default /)") String workdir = "/";

    @Option(names = {"-u", "--user"}, description = "UID[:GID]") String user;

    @Option(names = {"-i", "--interactive"}, description = "accepted: stdin is always passed")
    boolean interactive;

    @Parameters(index = "0", paramLabel = "CONTAINER") String rawId;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD") List<String> command;

    @Override
    public Integer call() throws Exception {
      ContainerStore store = store();
      Found f = Found.load(store, rawId).running();
      List<String> e = new ArrayList<>(List.of(BundleBuilder.DEFAULT_PATH));
      e.addAll(env);
      OciSpec.User u = BundleBuilder.user(user, Path.of("/nonexistent"));
      OciSpec.Process p = new OciSpec.Process(false, u, command, e, workdir, null, null, true);
      return switch (f.lifecycle().exec(store, f.state(), new ExecRequest(p, null, false))) {
        case Lifecycle.ExecResult.Exited x -> x.code();
        case Lifecycle.ExecResult.Detached d -> 0;
      };
    }
  }

  @Command(name = "logs", description = "Print a container's captured output.")
  public static final class Logs implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONTAINER") String rawId;

    @Override
    public Integer call() throws Exception {
      ContainerStore store = store();
      ContainerId id = Found.load(store, rawId).state().containerId();
      Path log = store.dir(id).resolve(ContainerStore.LOG);
      if (Files.exists(log)) {
        try (var in = Files.newInputStream(log)) {
          in.transferTo(System.out);
        }
        System.out.flush();
      }
      return 0;
    }
  }

  @Command(name = "kill", description = "Send a signal (default KILL) to a container.")
  public static final class Kill implements Callable<Integer> {
    @Option(names = {"-s", "--signal"}, description = "name or number (default KILL)") String signal = "KILL";

    @Parameters(index = "0", paramLabel = "CONTAINER") String rawId;

    @Override
    public Integer call() {
      int sig = Signals.parse(signal);
      ContainerStore store = store();
      Found f = Found.load(store, rawId);
      if (!f.status().alive()) {
        throw new LifecycleException("container " + rawId + " is not running (" + f.describe() + ")");
      }
      f.lifecycle().signal(store, f.state(), sig, false);
      return 0;
    }
  }

  @Command(name = "stop", description = "SIGTERM, then SIGKILL after a grace period.")
  public static final class Stop implements Callable<Integer> {
    @Option(names = {"-t", "--time"}, description = "seconds before SIGKILL (default 10)") int seconds = 10;

    @Parameters(index = "0", paramLabel = "CONTAINER") String rawId;

    @Override
    public Integer call() {
      if (seconds < 0) {
        throw new IllegalArgumentException("--time must not be negative");
      }
      ContainerStore store = store();
      Found f = Found.load(store, rawId);
      f.lifecycle().stop(store, f.state(), Duration.ofSeconds(seconds));
      return 0;
    }
  }

  @Command(name = "rm", description = "Remove containers (running ones with --force).")
  public static final class Rm implements Callable<Integer> {
    @Option(names = {"-f", "--force"}, description = "kill a running container first") boolean force;

    @Parameters(arity = "1..*", paramLabel = "CONTAINER") List<String> ids;

    @Override
    public Integer call() throws Exception {
      ContainerStore store = store();
      for (String raw : ids) {
        ContainerId id = new ContainerId(raw);
        if (!store.exists(id)) {
          throw new LifecycleException("no container " + id);
        }
        if (store.find(id).isEmpty()) {
          if (!force) {
            throw new LifecycleException("container " + id + " is being created; use --force");
          }
          Lifecycle.deleteUnrecorded(store, id);
        } else {
          Found f = Found.of(store, store.load(id));
          if (f.status() != Status.STOPPED && !force) {
            throw new LifecycleException("container " + id + " is " + f.describe()
                + "; stop it or use --force");
          }
          f.lifecycle().delete(store, f.state());
        }
        System.out.println(id);
      }
      return 0;
    }
  }

  @Command(name = "stats", description = "Print a running container's memory, CPU time and pids.")
  public static final class Stats implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONTAINER") String rawId;

    @Override
    public Integer call() {
      ContainerStore store = store();
      Found f = Found.load(store, rawId).running();
      Lifecycle.Stats s = f.lifecycle().stats(store, f.state());
      System.out.printf("%-16s %-14s %-14s %s%n", "ID", "MEMORY", "CPU", "PIDS");
      System.out.printf("%-16s %-14s %-14s %d%n", f.state().id(),
          (s.memoryBytes() >> 10) + " KiB", (s.cpuNanos() / 1_000_000) + " ms", s.pids());
      return 0;
    }
  }
}

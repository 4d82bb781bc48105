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
import run.cocoon.container.ContainerProcess;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.OciSpec;
import run.cocoon.container.SpecValidator;
import run.cocoon.container.Stdio;
import run.cocoon.shim.image.ImageStore;
import run.cocoon.shim.runtime.Signals;

/** ps, exec, logs, kill, stop and rm for containers started by {@code cocoon run}. */
public final class ContainerCommands {
  private ContainerCommands() {}

  public static List<Object> all() {
    return List.of(new Ps(), new Exec(), new Logs(), new Kill(), new Stop(), new Rm());
  }

  static ContainerStore store() {
    return new ContainerStore(ImageStore.defaultRoot());
  }

  static ContainerStore.Record running(ContainerId id) {
    ContainerStore.Record r = store().load(id);
    if (!r.alive()) {
      throw new IllegalArgumentException("container " + id + " is not running (" + r.status() + ")");
    }
    if (r.pid() == 0) {
      throw new IllegalArgumentException("container " + id + " is not a host process");
    }
    return r;
  }

  @Command(name = "ps", description = "List containers (running and exited).")
  public static final class Ps implements Callable<Integer> {
    @Option(names = {"-q", "--quiet"}) boolean quiet;

    @Override
    public Integer call() throws Exception {
      List<ContainerStore.Record> all = store().list();
      if (quiet) {
        all.forEach(r -> System.out.println(r.id()));
        return 0;
      }
      System.out.printf("%-16s %-28s %-24s %-10s %s%n", "ID", "IMAGE", "COMMAND", "ISOLATION", "STATUS");
      for (ContainerStore.Record r : all) {
        String cmd = String.join(" ", r.command());
        System.out.printf("%-16s %-28s %-24s %-10s %s%n", r.id(), r.image(),
            cmd.length() > 24 ? cmd.substring(0, 21) + "..." : cmd, r.isolation(), r.status());
      }
      return 0;
    }
  }

  @Command(name = "exec", description = "Run a command in a running container.")
  public static final class Exec implements Callable<Integer> {
    @Option(names = {"-e", "--env"}) List<String> env = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}) String workdir = "/";

    @Option(names = {"-u", "--user"}, description = "UID[:GID]") String user;

    @Option(names = {"-i", "--interactive"}, description = "accepted: stdin is always passed")
    boolean interactive;

    @Parameters(index = "0") String rawId;

    @Parameters(index = "1..*", arity = "1..*") List<String> command;

    @Override
    public Integer call() {
      ContainerStore.Record r = running(new ContainerId(rawId));
      List<String> e = new ArrayList<>(List.of(BundleBuilder.DEFAULT_PATH));
      e.addAll(env);
      OciSpec.User u = BundleBuilder.user(user, Path.of("/nonexistent"));
      OciSpec.Process p = new OciSpec.Process(false, u, command, e, workdir, null, null, true);
      ContainerProcess proc = DetachedContainer.exec(r.handle(),
          SpecValidator.validateProcess(p, "exec"),
          SpecValidator.bundleSeccomp(store().dir(r.handle().id()).resolve("bundle")),
          Stdio.fds(0, 1, 2), ContainerRuntime.defaults(), false);
      ExitStatus st = proc.waitFor();
      return switch (st) {
        case ExitStatus.Exited x -> x.code();
        case ExitStatus.Signaled s -> 128 + s.signal();
      };
    }
  }

  @Command(name = "logs", description = "Print a container's captured output.")
  public static final class Logs implements Callable<Integer> {
    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() throws Exception {
      ContainerId id = new ContainerId(rawId);
      store().load(id);
      Path log = store().dir(id).resolve(ContainerStore.LOG);
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
    @Option(names = {"-s", "--signal"}) String signal = "KILL";

    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() {
      ContainerStore.Record r = running(new ContainerId(rawId));
      if (!DetachedContainer.signal(r.handle(), Signals.parse(signal))) {
        throw new IllegalArgumentException("container " + rawId + " is not running");
      }
      return 0;
    }
  }

  @Command(name = "stop", description = "SIGTERM, then SIGKILL after a grace period.")
  public static final class Stop implements Callable<Integer> {
    @Option(names = {"-t", "--time"}, description = "seconds before SIGKILL (default 10)") int seconds = 10;

    @Parameters(index = "0") String rawId;

    @Override
    public Integer call() {
      ContainerStore.Record r = store().load(new ContainerId(rawId));
      if (!r.alive()) {
        return 0;
      }
      DetachedContainer.signal(r.handle(), 15);
      if (!HostProcesses.awaitExit(r.pid(), r.startTime(), Duration.ofSeconds(seconds))) {
        DetachedContainer.signal(r.handle(), 9);
        HostProcesses.awaitExit(r.pid(), r.startTime(), DetachedContainer.KILL_TIMEOUT);
      }
      return 0;
    }
  }

  @Command(name = "rm", description = "Remove containers (running ones with --force).")
  public static final class Rm implements Callable<Integer> {
    @Option(names = {"-f", "--force"}) boolean force;

    @Parameters(arity = "1..*") List<String> ids;

    @Override
    public Integer call() throws Exception {
      for (String raw : ids) {
        ContainerId id = new ContainerId(raw);
        ContainerStore.Record r = store().load(id);
        if (r.alive()) {
          if (!force) {
            throw new IllegalArgumentException("container " + id + " is running; stop it or use --force");
          }
          DetachedContainer.signal(r.handle(), 9);
          HostProcesses.awaitExit(r.pid(), r.startTime(), DetachedContainer.KILL_TIMEOUT);
        }
        store().remove(id);
        System.out.println(id);
      }
      return 0;
    }
  }
}

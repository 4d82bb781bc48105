package run.cocoon.shim.runtime;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import run.cocoon.container.ContainerException;
import run.cocoon.shim.image.ImageException;
import run.cocoon.shim.cli.HelpOptions;
import run.cocoon.shim.lifecycle.ContainerStore;
import run.cocoon.shim.lifecycle.IsolationUnavailableException;
import run.cocoon.shim.lifecycle.LifecycleException;
import run.cocoon.shim.lifecycle.StateFiles;

/**
 * {@code cocoon-runtime}: an OCI runtime with runc's command line, so that podman, conmon or
 * containerd can drive cocoon containers. Every call is its own process; containers live on
 * between calls (see {@link run.cocoon.container.DetachedContainer}) and their state is in
 * {@code --root}.
 */
@Command(
    name = "cocoon-runtime",
    versionProvider = RuntimeMain.Version.class,
    mixinStandardHelpOptions = true,
    description = "OCI runtime (runc-compatible command line) running containers with cocoon.",
    subcommands = {
        RuntimeCommands.Create.class, RuntimeCommands.Start.class, RuntimeCommands.State.class,
        RuntimeCommands.Kill.class, RuntimeCommands.Delete.class, RuntimeCommands.Run.class,
        RuntimeCommands.Exec.class, RuntimeCommands.ListCmd.class, RuntimeCommands.Ps.class,
        RuntimeCommands.Features.class})
public final class RuntimeMain implements Runnable {
  /** What runc exits with on any failure; podman and conmon expect 1. */
  static final int FAILURE = 1;

  @Option(names = "--root", description = "state directory (default ${DEFAULT-VALUE})")
  Path root = ContainerStore.RUNTIME_ROOT;

  @Option(names = "--log", description = "append errors and debug lines to this file")
  Path log;

  @Option(names = "--log-format", description = "text or json (default text)")
  String logFormat = "text";

  @Option(names = "--debug", description = "log debug lines")
  boolean debug;

  @Option(names = "--systemd-cgroup", description = "accepted; cgroups are always managed as cgroupfs")
  boolean systemdCgroup;

  @Option(names = "--isolation", description = "container or vm (default: the bundle's "
      + "run.cocoon.isolation annotation, else container)")
  String isolation;

  @Option(names = "--rootless", arity = "0..1", hidden = true, description = "accepted, ignored")
  String rootless;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  ContainerStore store() {
    return new ContainerStore(root);
  }

  /** One log line in the format conmon reads back (runc's logrus text or JSON). */
  void log(String level, String message) {
    if (log == null || (level.equals("debug") && !debug)) {
      return;
    }
    String time = Instant.now().toString();
    String line;
    if (logFormat.equals("json")) {
      java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
      m.put("level", level);
      m.put("msg", message);
      m.put("time", time);
      try {
        line = StateFiles.JSON.writeValueAsString(m);
      } catch (IOException e) {
        line = "{\"level\":\"error\",\"msg\":\"unloggable message\"}";
      }
    } else {
      line = "time=\"" + time + "\" level=" + level + " msg=\"" + message.replace("\"", "\\\"") + "\"";
    }
    try {
      Files.writeString(log, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException ignored) {
      // the error still goes to stderr
    }
  }

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new RuntimeMain());
    HelpOptions.addToSubcommands(cl);
    cl.getSubcommands().get("exec").setStopAtPositional(true);
    cl.setExecutionExceptionHandler((e, c, parsed) -> {
      RuntimeMain main = c.getCommandSpec().root().commandLine().getCommand();
      String msg = message(e);
      main.log("error", msg);
      c.getErr().println("cocoon-runtime: " + msg);
      if (main.debug || Boolean.getBoolean("cocoon.debug")) {
        e.printStackTrace(new PrintWriter(c.getErr(), true));
      }
      return FAILURE;
    });
    cl.setParameterExceptionHandler((e, args) -> {
      e.getCommandLine().getErr().println("cocoon-runtime: " + e.getMessage());
      return FAILURE;
    });
    return cl;
  }

  private static String message(Exception e) {
    if (e instanceof RuntimeCliException || e instanceof IsolationUnavailableException
        || e instanceof LifecycleException
        || e instanceof ContainerException || e instanceof ImageException
        || e instanceof IllegalArgumentException
        || e instanceof IllegalStateException) {
      return e.getMessage();
    }
    return e.getMessage() == null ? e.toString() : e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** runc prints its version and the spec version; tools parse the first line loosely. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = RuntimeMain.class.getPackage().getImplementationVersion();
      return new String[] {"cocoon-runtime version " + (v == null ? "development" : v),
          "spec: " + RuntimeCommands.OCI_VERSION};
    }
  }
}

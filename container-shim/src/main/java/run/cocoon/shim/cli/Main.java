package run.cocoon.shim.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code cocoon} command. */
@Command(
    name = "cocoon",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Runs OCI containers on the host or inside their own KVM microVM.",
    subcommandsRepeatable = false)
public final class Main implements Runnable {

  /** Subcommands, one class each; their order is the order of the help text. */
  static final List<Object> SUBCOMMANDS = List.of(
      new SmokeCommand(),
      new VmCommands(),
      new ImageCommands.Pull(), new ImageCommands.Import(), new ImageCommands.Images(),
      new ImageCommands.Rmi(), new ImageCommands.Inspect(),
      new run.cocoon.shim.run.RunCommand(),
      new run.cocoon.shim.run.ContainerCommands.Ps(), new run.cocoon.shim.run.ContainerCommands.Exec(),
      new run.cocoon.shim.run.ContainerCommands.Logs(), new run.cocoon.shim.run.ContainerCommands.Kill(),
      new run.cocoon.shim.run.ContainerCommands.Stop(), new run.cocoon.shim.run.ContainerCommands.Rm(),
      new run.cocoon.shim.run.ContainerCommands.Stats());

  private static final String LOG_FORMAT_PROPERTY = "java.util.logging.SimpleFormatter.format";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    for (Object sub : SUBCOMMANDS) {
      cl.addSubcommand(sub);
    }
    // The container's command follows the image (or id): its options are not ours.
    for (String name : List.of("run", "exec")) {
      cl.getSubcommands().get(name).setStopAtPositional(true);
    }
    HelpOptions.addToSubcommands(cl);
    cl.setExecutionExceptionHandler(new ErrorHandler());
    return cl;
  }

  public static void main(String[] args) {
    // One line per log record, before the first logger exists.
    if (System.getProperty(LOG_FORMAT_PROPERTY) == null) {
      System.setProperty(LOG_FORMAT_PROPERTY, "cocoon: %4$s: %5$s%6$s%n");
    }
    System.exit(commandLine().execute(args));
  }

  /** Version text from the jar manifest, or "development" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"cocoon " + (v == null ? "development" : v)};
    }
  }
}

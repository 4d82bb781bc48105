package run.cocoon.shim.cli;

import picocli.CommandLine;

/** {@code --help} (and {@code -h}) on every subcommand, at every depth, as on the top command. */
public final class HelpOptions {
  private HelpOptions() {}

  public static void addToSubcommands(CommandLine cl) {
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (sub.getCommandSpec().findOption("--help") == null) {
        sub.getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder("-h", "--help")
            .usageHelp(true).description("Show this help message and exit.").build());
      }
      addToSubcommands(sub);
    }
  }
}

package run.cocoon.shim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import run.cocoon.shim.runtime.RuntimeMain;

/** Every subcommand of both command lines, at every depth, answers --help with its usage. */
class HelpOptionsTest {
  @Test
  void everyCocoonSubcommandHasHelp() {
    assertAllHaveHelp(Main::commandLine, "cocoon");
  }

  @Test
  void everyRuntimeSubcommandHasHelp() {
    assertAllHaveHelp(RuntimeMain::commandLine, "cocoon-runtime");
  }

  private static void assertAllHaveHelp(Supplier<CommandLine> fresh, String name) {
    List<List<String>> paths = new ArrayList<>();
    collect(fresh.get(), new ArrayList<>(), paths);
    assertTrue(paths.size() > 5, "subcommands of " + name + ": " + paths);
    for (List<String> path : paths) {
      for (String flag : List.of("--help", "-h")) {
        CommandLine cl = fresh.get();
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        List<String> args = new ArrayList<>(path);
        args.add(flag);
        int code = cl.execute(args.toArray(String[]::new));
        assertEquals(0, code, name + " " + args + ": " + out);
        assertTrue(out.toString().startsWith("Usage: " + name + " " + String.join(" ", path)),
            name + " " + args + " printed: " + out);
      }
    }
  }

  private static void collect(CommandLine cl, List<String> prefix, List<List<String>> into) {
    for (var e : cl.getSubcommands().entrySet()) {
      List<String> path = new ArrayList<>(prefix);
      path.add(e.getKey());
      into.add(path);
      collect(e.getValue(), path, into);
    }
  }
}

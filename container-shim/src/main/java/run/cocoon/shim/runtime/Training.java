package run.cocoon.shim.runtime;

import java.nio.file.Path;

/**
 * The training run for cocoon-runtime's AOT cache (scripts/install-runtime): one JVM goes through
 * the commands a container engine calls, on a given bundle, so that the classes and linkage they
 * need are in the cache. Usage: {@code Training BUNDLE STATE_ROOT}.
 */
public final class Training {
  private Training() {}

  public static void main(String[] args) {
    Path bundle = Path.of(args[0]);
    String root = args[1];
    String id = "aot-training-" + ProcessHandle.current().pid();
    String[][] calls = {
        {"--root", root, "features"},
        {"--root", root, "create", "--bundle", bundle.toString(), id},
        {"--root", root, "state", id},
        {"--root", root, "start", id},
        {"--root", root, "list"},
        {"--root", root, "kill", id, "KILL"},
        {"--root", root, "delete", "--force", id},
        {"--root", root, "state", id},
    };
    for (String[] call : calls) {
      RuntimeMain.commandLine().execute(call);
    }
  }
}

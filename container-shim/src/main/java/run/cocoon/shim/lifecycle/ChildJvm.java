package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a JVM that runs one of our classes with this JVM's runtime, classpath,
 * native-access flags and {@code cocoon.*} properties: for the processes that hold a container
 * after the command that created it has exited.
 */
public final class ChildJvm {
  private ChildJvm() {}

  public static List<String> command(Class<?> main, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("cocoon.") || name.equals("java.util.logging.SimpleFormatter.format")) {
        cmd.add("-D" + name + "=" + System.getProperty(name));
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(args);
    return cmd;
  }
}

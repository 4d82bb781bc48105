package run.cocoon.container.seccomp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** What the compiler accepts, by OCI name, for a runtime's {@code features} output. */
public final class SeccompFeatures {
  private SeccompFeatures() {}

  public static List<String> actions() {
    return Arrays.stream(SeccompAction.values()).map(Enum::name).toList();
  }

  public static List<String> operators() {
    return Arrays.stream(SeccompCompiler.Comparison.values()).map(Enum::name).toList();
  }

  /** The ABIs a filter tells apart, then those accepted in a profile that never occur here. */
  public static List<String> architectures() {
    List<String> all = new ArrayList<>(Arrays.stream(Architecture.values()).map(Enum::name).toList());
    all.addAll(Architecture.FOREIGN.stream().sorted().toList());
    return all;
  }

  public static List<String> flags() {
    return SeccompCompiler.FLAGS.keySet().stream().sorted().toList();
  }

  /** The features object of the OCI runtime spec's {@code linux.seccomp}. */
  public static Map<String, Object> asOciFeatures() {
    return Map.of("enabled", true, "actions", actions(), "operators", operators(),
        "archs", architectures(), "knownFlags", flags(), "supportedFlags", flags());
  }
}

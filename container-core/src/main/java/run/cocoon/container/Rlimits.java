package run.cocoon.container;

import java.util.Map;

/** RLIMIT_* names (as in the OCI spec) and their numbers on Linux. */
public final class Rlimits {
  private static final Map<String, Integer> NUMBERS = Map.ofEntries(
      Map.entry("RLIMIT_CPU", 0), Map.entry("RLIMIT_FSIZE", 1), Map.entry("RLIMIT_DATA", 2),
      Map.entry("RLIMIT_STACK", 3), Map.entry("RLIMIT_CORE", 4), Map.entry("RLIMIT_RSS", 5),
      Map.entry("RLIMIT_NPROC", 6), Map.entry("RLIMIT_NOFILE", 7), Map.entry("RLIMIT_MEMLOCK", 8),
      Map.entry("RLIMIT_AS", 9), Map.entry("RLIMIT_LOCKS", 10), Map.entry("RLIMIT_SIGPENDING", 11),
      Map.entry("RLIMIT_MSGQUEUE", 12), Map.entry("RLIMIT_NICE", 13),
      Map.entry("RLIMIT_RTPRIO", 14), Map.entry("RLIMIT_RTTIME", 15));

  private Rlimits() {}

  /** The resource number of an RLIMIT_* name, or -1 when unknown. */
  public static int number(String name) {
    return NUMBERS.getOrDefault(name, -1);
  }
}

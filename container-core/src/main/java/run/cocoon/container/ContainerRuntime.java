package run.cocoon.container;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What containers need from their environment: the cocoon-spawn helper binary and a cgroup
 * manager. One per process is enough.
 *
 * <p>The helper is found through, in order: the system property {@value #HELPER_PROPERTY}, the
 * environment variable {@value #HELPER_ENV}, {@code cocoon-spawn} or {@code native/cocoon-spawn}
 * next to the container-core jar (or classes directory), {@code /usr/lib/cocoon/cocoon-spawn}.
 */
public record ContainerRuntime(Path helper, CgroupManager cgroups, int capLastCap) {
  public static final String HELPER_PROPERTY = "cocoon.spawn.helper";
  public static final String HELPER_ENV = "COCOON_SPAWN_HELPER";

  /** The helper found as described above and the detected cgroup layout. */
  public static ContainerRuntime defaults() {
    return new ContainerRuntime(findHelper(), CgroupManager.detect(), PlanBuilder.capLastCap());
  }

  public static Path findHelper() {
    List<Path> candidates = new ArrayList<>();
    String prop = System.getProperty(HELPER_PROPERTY);
    if (prop != null && !prop.isEmpty()) {
      return requireExecutable(Path.of(prop));
    }
    String env = System.getenv(HELPER_ENV);
    if (env != null && !env.isEmpty()) {
      return requireExecutable(Path.of(env));
    }
    try {
      Path here = Path.of(ContainerRuntime.class.getProtectionDomain().getCodeSource()
          .getLocation().toURI());
      Path dir = Files.isDirectory(here) ? here.getParent() : here.getParent();
      candidates.add(dir.resolve("cocoon-spawn"));
      candidates.add(dir.resolve("native/cocoon-spawn"));
    } catch (URISyntaxException | RuntimeException ignored) {
      // no code source (unusual class loader): fall through to the system location
    }
    candidates.add(Path.of("/usr/lib/cocoon/cocoon-spawn"));
    for (Path p : candidates) {
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    throw new ContainerException("cocoon-spawn helper not found; looked at " + candidates
        + "; set -D" + HELPER_PROPERTY + " or " + HELPER_ENV);
  }

  private static Path requireExecutable(Path p) {
    if (!Files.isExecutable(p)) {
      throw new ContainerException("cocoon-spawn helper " + p + " is not an executable file");
    }
    return p;
  }
}

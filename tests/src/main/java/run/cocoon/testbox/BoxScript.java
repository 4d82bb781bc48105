package run.cocoon.testbox;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the project's checkout and its {@code tests/box/cocoon-box} script. */
public final class BoxScript {
  private BoxScript() {}

  /**
   * The project root: system property {@code cocoon.root} (surefire sets it), else the nearest
   * directory at or above the current one that holds {@code tests/box/cocoon-box}.
   */
  public static Path projectRoot() {
    String prop = System.getProperty("cocoon.root");
    if (prop != null && !prop.isBlank() && Files.isExecutable(Path.of(prop, "tests/box/cocoon-box"))) {
      return Path.of(prop).toAbsolutePath().normalize();
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isExecutable(d.resolve("tests/box/cocoon-box"))) {
        return d;
      }
    }
    throw new IllegalStateException("cannot find tests/box/cocoon-box above " + Path.of("").toAbsolutePath()
        + "; run from inside the cocoon checkout or set -Dcocoon.root=/path/to/checkout");
  }

  /** The script: {@code $COCOON_BOX} if set, else the one in {@link #projectRoot()}. */
  public static Path locate() {
    String env = System.getenv("COCOON_BOX");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (!Files.isExecutable(p)) {
        throw new IllegalStateException("COCOON_BOX=" + env + " is not an executable file");
      }
      return p;
    }
    return projectRoot().resolve("tests/box/cocoon-box");
  }
}

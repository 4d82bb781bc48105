package run.cocoon.shim.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import run.cocoon.shim.lifecycle.StateFiles;

/**
 * User settings: the default isolation from {@code $COCOON_ISOLATION}, else
 * {@code $COCOON_HOME/config.json} {@code {"defaultIsolation": "container"}}, else container.
 */
public final class Settings {
  public static final String ISOLATION_ENV = "COCOON_ISOLATION";

  private Settings() {}

  public static String defaultIsolation(Path home) {
    String env = System.getenv(ISOLATION_ENV);
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    Path f = home.resolve("config.json");
    if (Files.isRegularFile(f)) {
      try {
        JsonNode n = StateFiles.read(f, JsonNode.class);
        JsonNode v = n.get("defaultIsolation");
        if (v != null && v.isTextual()) {
          return v.asText();
        }
      } catch (IOException e) {
        throw new IllegalArgumentException(f + " is not valid JSON: " + e.getMessage());
      }
    }
    return "container";
  }
}

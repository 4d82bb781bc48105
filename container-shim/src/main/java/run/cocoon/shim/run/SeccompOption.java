package run.cocoon.shim.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import run.cocoon.container.ContainerLimits;
import run.cocoon.container.seccomp.DefaultSeccompProfile;
import run.cocoon.container.seccomp.SeccompCompiler;
import run.cocoon.container.seccomp.SeccompException;
import run.cocoon.container.seccomp.SeccompProfile;

/**
 * {@code --security-opt} for {@code cocoon run}: {@code seccomp=unconfined} runs without a
 * filter, {@code seccomp=PATH} applies the OCI {@code linux.seccomp} object in that file, and
 * without either the container gets {@link DefaultSeccompProfile}.
 */
final class SeccompOption {
  private static final String PREFIX = "seccomp=";

  private SeccompOption() {}

  /** The {@code linux.seccomp} JSON for these options; null for unconfined. */
  static JsonNode profile(List<String> securityOpts) {
    JsonNode profile = DefaultSeccompProfile.json();
    for (String opt : securityOpts) {
      if (!opt.startsWith(PREFIX)) {
        throw new IllegalArgumentException("--security-opt " + opt + ": only seccomp=unconfined"
            + " or seccomp=PATH is supported");
      }
      String value = opt.substring(PREFIX.length());
      profile = value.equals("unconfined") ? null : file(Path.of(value));
    }
    return profile;
  }

  /** A profile file, checked now so that a bad one fails before anything is created. */
  private static JsonNode file(Path path) {
    byte[] data;
    try (InputStream in = Files.newInputStream(path)) {
      data = in.readNBytes(ContainerLimits.MAX_CONFIG_BYTES + 1);
    } catch (IOException e) {
      throw new IllegalArgumentException("--security-opt seccomp=" + path + ": " + e.getMessage());
    }
    if (data.length > ContainerLimits.MAX_CONFIG_BYTES) {
      throw new IllegalArgumentException("--security-opt seccomp=" + path + ": larger than"
          + " MAX_CONFIG_BYTES (" + ContainerLimits.MAX_CONFIG_BYTES + ")");
    }
    try {
      SeccompProfile parsed = SeccompProfile.parse(data);
      SeccompCompiler.compile(parsed);
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(data);
    } catch (SeccompException | IOException e) {
      throw new IllegalArgumentException("--security-opt seccomp=" + path + ": " + e.getMessage());
    }
  }
}

package run.cocoon.container;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The subset of the OCI runtime spec (config.json) that cocoon honours. Unknown fields are
 * ignored; absent lists read as empty. {@code linux.seccomp} is kept as JSON: it is parsed
 * strictly ({@link run.cocoon.container.seccomp.SeccompProfile}), because an unknown field of a
 * filter must never be dropped. Parsing checks shape and size only: use
 * {@link SpecValidator} before acting on a spec.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record OciSpec(
    String ociVersion,
    Process process,
    Root root,
    String hostname,
    List<Mount> mounts,
    Linux linux,
    Map<String, String> annotations) {

  public OciSpec {
    mounts = mounts == null ? List.of() : List.copyOf(mounts);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Process(
      boolean terminal,
      User user,
      List<String> args,
      List<String> env,
      String cwd,
      Capabilities capabilities,
      List<Rlimit> rlimits,
      boolean noNewPrivileges) {
    public Process {
      args = args == null ? List.of() : args;
      env = env == null ? List.of() : env;
      rlimits = rlimits == null ? List.of() : rlimits;
      user = user == null ? new User(0, 0, List.of()) : user;
      cwd = cwd == null ? "/" : cwd;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record User(long uid, long gid, List<Long> additionalGids) {
    public User {
      additionalGids = additionalGids == null ? List.of() : additionalGids;
    }
  }

  /** Capability sets by name ({@code CAP_SYS_ADMIN}); an absent set is empty. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Capabilities(
      List<String> bounding,
      List<String> effective,
      List<String> inheritable,
      List<String> permitted,
      List<String> ambient) {
    public Capabilities {
      bounding = bounding == null ? List.of() : bounding;
      effective = effective == null ? List.of() : effective;
      inheritable = inheritable == null ? List.of() : inheritable;
      permitted = permitted == null ? List.of() : permitted;
      ambient = ambient == null ? List.of() : ambient;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Rlimit(String type, long hard, long soft) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Root(String path, boolean readonly) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Mount(String destination, String type, String source, List<String> options) {
    public Mount {
      options = options == null ? List.of() : options;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Linux(
      List<Namespace> namespaces,
      List<String> maskedPaths,
      List<String> readonlyPaths,
      Resources resources,
      String cgroupsPath,
      JsonNode seccomp) {
    public Linux {
      namespaces = namespaces == null ? List.of() : namespaces;
      maskedPaths = maskedPaths == null ? List.of() : maskedPaths;
      readonlyPaths = readonlyPaths == null ? List.of() : readonlyPaths;
    }
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Namespace(String type, String path) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Resources(Memory memory, Pids pids, Cpu cpu) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Memory(Long limit, Long swap) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Pids(Long limit) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Cpu(Long shares, Long quota, Long period) {}

  private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder()
              .maxNestingDepth(ContainerLimits.MAX_CONFIG_NESTING)
              .maxStringLength(ContainerLimits.MAX_CONFIG_BYTES)
              .maxNumberLength(ContainerLimits.MAX_CONFIG_NUMBER_DIGITS)
              .build())
          .build())
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  /** Parses config.json text; refuses more than {@link ContainerLimits#MAX_CONFIG_BYTES}. */
  public static OciSpec parse(byte[] json) {
    if (json.length > ContainerLimits.MAX_CONFIG_BYTES) {
      throw new InvalidSpecException("config.json", "is " + json.length + " bytes, more than "
          + "MAX_CONFIG_BYTES (" + ContainerLimits.MAX_CONFIG_BYTES + ")");
    }
    try {
      OciSpec spec = MAPPER.readValue(json, OciSpec.class);
      if (spec == null) {
        throw new InvalidSpecException("config.json", "is empty");
      }
      return spec;
    } catch (IOException e) {
      throw new InvalidSpecException("config.json", "is not a valid OCI config: "
          + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  /** Reads a bundle's config.json without reading past the size bound. */
  public static OciSpec read(Path configJson) {
    // A FIFO or device would block the open or the read: only a regular file is a config.
    if (!Files.isRegularFile(configJson)) {
      throw new InvalidSpecException("config.json", Files.exists(configJson)
          ? "is not a regular file" : "does not exist");
    }
    try (InputStream in = Files.newInputStream(configJson)) {
      byte[] data = in.readNBytes(ContainerLimits.MAX_CONFIG_BYTES + 1);
      return parse(data);
    } catch (IOException e) {
      throw new InvalidSpecException("config.json", "cannot be read: " + e.getMessage());
    }
  }
}

package run.cocoon.container.seccomp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigInteger;
import java.util.List;

/**
 * The OCI {@code linux.seccomp} object as written, parsed strictly: an unknown field is an error
 * (a field we do not know might weaken or strengthen the filter, so it is never ignored).
 * {@link SeccompCompiler} gives it meaning.
 */
public record SeccompProfile(
    String defaultAction,
    Long defaultErrnoRet,
    List<String> architectures,
    List<String> flags,
    String listenerPath,
    String listenerMetadata,
    List<Rule> syscalls) {

  public SeccompProfile {
    architectures = architectures == null ? List.of() : List.copyOf(architectures);
    flags = flags == null ? List.of() : List.copyOf(flags);
    syscalls = syscalls == null ? List.of() : List.copyOf(syscalls);
  }

  /** One entry of {@code syscalls}: these names get this action when every condition holds. */
  public record Rule(List<String> names, String action, Long errnoRet, List<Arg> args) {
    public Rule {
      names = names == null ? List.of() : List.copyOf(names);
      args = args == null ? List.of() : List.copyOf(args);
    }
  }

  /**
   * A condition on argument {@code index}; for SCMP_CMP_MASKED_EQ {@code value} is the mask.
   * The values are unsigned 64-bit numbers, so they are read as {@link BigInteger}.
   */
  public record Arg(Integer index, BigInteger value, BigInteger valueTwo, String op) {}

  private static final ObjectMapper STRICT = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .build();

  /** Parses the object found at {@code linux.seccomp}. */
  public static SeccompProfile parse(JsonNode node) {
    if (node == null || !node.isObject()) {
      throw new SeccompException("is not an object");
    }
    try {
      return STRICT.treeToValue(node, SeccompProfile.class);
    } catch (JsonProcessingException e) {
      throw new SeccompException("is not a valid seccomp profile: " + e.getOriginalMessage());
    } catch (IllegalArgumentException e) {
      throw new SeccompException("is not a valid seccomp profile: " + e.getMessage());
    }
  }

  /** Parses a profile file's text (a {@code --security-opt seccomp=PATH} file). */
  public static SeccompProfile parse(byte[] json) {
    try {
      return parse(STRICT.readTree(json));
    } catch (java.io.IOException e) {
      throw new SeccompException("is not valid JSON: " + e.getMessage());
    }
  }
}

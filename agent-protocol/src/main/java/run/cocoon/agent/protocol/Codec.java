package run.cocoon.agent.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;

/** JSON encoding of {@link Envelope}s, strict on input. */
public final class Codec {
  /** Deepest JSON nesting accepted (an OCI config nests about 6 levels). */
  public static final int MAX_NESTING = 64;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  static {
    JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
        .maxNestingDepth(MAX_NESTING)
        .maxStringLength(ProtocolLimits.FRAME_MAX_BYTES)
        .build());
  }

  private Codec() {}

  public static byte[] encode(Envelope envelope) {
    try {
      return JSON.writeValueAsBytes(envelope);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Decodes a frame payload.
   *
   * @throws ProtocolException.Malformed not JSON, unknown type, missing or unknown fields
   * @throws ProtocolException.Invalid a field's value is not allowed
   * @throws ProtocolException.UnsupportedVersion another protocol version
   */
  public static Envelope decode(byte[] payload) throws ProtocolException {
    JsonNode tree;
    try {
      tree = JSON.readTree(payload);
    } catch (IOException e) {
      throw new ProtocolException.Malformed("not JSON: " + firstLine(e));
    }
    if (tree == null || !tree.isObject()) {
      throw new ProtocolException.Malformed("a message must be a JSON object");
    }
    JsonNode v = tree.get("v");
    if (v == null || !v.isInt()) {
      throw new ProtocolException.Malformed("message has no integer \"v\" (protocol version)");
    }
    if (v.intValue() != ProtocolLimits.VERSION) {
      throw new ProtocolException.UnsupportedVersion(v.intValue());
    }
    try {
      return JSON.treeToValue(tree, Envelope.class);
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new ProtocolException.Invalid(cause.getMessage());
    } catch (InvalidTypeIdException e) {
      throw new ProtocolException.Malformed("unknown message type \""
          + Printable.clip(String.valueOf(e.getTypeId())) + "\"");
    } catch (IOException | IllegalArgumentException e) {
      throw new ProtocolException.Malformed(firstLine(e));
    }
  }

  /** The request id of a payload that may not decode, or -1: lets an error reply name it. */
  public static long idOf(byte[] payload) {
    try {
      JsonNode id = JSON.readTree(payload).get("id");
      return id != null && id.canConvertToLong() ? id.longValue() : -1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The JSON mapper, for converting OCI objects carried in requests. */
  public static ObjectMapper json() {
    return JSON;
  }

  private static String firstLine(Exception e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return Printable.clip(nl < 0 ? m : m.substring(0, nl));
  }
}

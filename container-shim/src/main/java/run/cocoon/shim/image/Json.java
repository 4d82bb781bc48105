package run.cocoon.shim.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The one JSON mapper of the image code, and strict accessors for untrusted documents. */
final class Json {
  /** Nesting depth of any image document; real ones are under 10 deep. */
  static final int MAX_NESTING_DEPTH = 64;

  static final ObjectMapper MAPPER =
      new ObjectMapper(
              JsonFactory.builder()
                  .streamReadConstraints(
                      StreamReadConstraints.builder()
                          .maxNestingDepth(MAX_NESTING_DEPTH)
                          .maxStringLength(ImageLimits.MAX_CONFIG_BYTES)
                          .build())
                  .build())
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private Json() {}

  static JsonNode parse(byte[] data, String what) {
    try {
      JsonNode n = MAPPER.readTree(data);
      if (n == null || !n.isObject()) {
        throw ImageException.bad(what + " is not a JSON object");
      }
      return n;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw ImageException.bad(what + " is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ImageException.bad(what + " could not be read: " + e.getMessage());
    }
  }

  static byte[] write(JsonNode n) {
    try {
      return MAPPER.writeValueAsBytes(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  static String text(JsonNode parent, String field, String what) {
    JsonNode n = parent.get(field);
    if (n == null || !n.isTextual()) {
      throw ImageException.bad(what + ": field '" + field + "' missing or not a string");
    }
    return n.asText();
  }

  static String optText(JsonNode parent, String field, String what) {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw ImageException.bad(what + ": field '" + field + "' is not a string");
    }
    return n.asText();
  }

  static long nonNegativeLong(JsonNode parent, String field, String what) {
    JsonNode n = parent.get(field);
    if (n == null || !n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < 0) {
      throw ImageException.bad(what + ": field '" + field + "' missing or not a size");
    }
    return n.asLong();
  }

  static List<String> optStrings(JsonNode parent, String field, String what) {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isArray()) {
      throw ImageException.bad(what + ": field '" + field + "' is not an array of strings");
    }
    List<String> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw ImageException.bad(what + ": field '" + field + "' has a non-string element");
      }
      out.add(e.asText());
    }
    return List.copyOf(out);
  }

  static Map<String, String> optStringMap(JsonNode parent, String field, String what) {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) {
      return Map.of();
    }
    if (!n.isObject()) {
      throw ImageException.bad(what + ": field '" + field + "' is not an object");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (var it = n.properties().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!e.getValue().isTextual()) {
        throw ImageException.bad(what + ": '" + field + "." + e.getKey() + "' is not a string");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }
}

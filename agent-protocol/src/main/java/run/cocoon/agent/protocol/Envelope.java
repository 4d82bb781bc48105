package run.cocoon.agent.protocol;

import java.util.Objects;

/**
 * One frame's message: protocol version, the request id it belongs to (chosen by the host, echoed
 * in the reply), and the body. JSON: {@code {"v":1,"id":7,"body":{"type":"start",...}}}.
 */
public record Envelope(int v, long id, Body body) {
  public Envelope {
    Objects.requireNonNull(body, "body");
  }

  public static Envelope of(long id, Body body) {
    return new Envelope(ProtocolLimits.VERSION, id, body);
  }
}

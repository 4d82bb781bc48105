package run.cocoon.agent.protocol;

/** Every bound of the agent protocol; docs/limits.md lists them. */
public final class ProtocolLimits {
  /** The protocol version this code speaks; a peer with another major version is refused. */
  public static final int VERSION = 1;
  /** The vsock port the agent listens on. */
  public static final int AGENT_PORT = 1024;
  /** Largest frame payload (JSON bytes). An OCI config.json is far smaller. */
  public static final int FRAME_MAX_BYTES = 1 << 20;
  /** Requests one control connection may have in flight (each may be a blocking wait). */
  public static final int MAX_IN_FLIGHT_PER_CONNECTION = 64;
  /** Connections the agent serves at once (control and stdio together). */
  public static final int MAX_CONNECTIONS = 256;
  /** Containers one agent runs at once. */
  public static final int MAX_CONTAINERS = 64;
  /** Processes (the container's and its execs) per container. */
  public static final int MAX_PROCESSES_PER_CONTAINER = 64;
  /** Time a new connection has to send its first frame. */
  public static final long FIRST_FRAME_TIMEOUT_MILLIS = 10_000;
  /** Longest container or exec id (ids follow {@link Ids#PATTERN}). */
  public static final int MAX_ID_LENGTH = 64;

  private ProtocolLimits() {}
}

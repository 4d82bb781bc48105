package run.cocoon.vmm.virtio.vsock;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where one vsock connection is in its life. Every change goes through {@link #canMoveTo}, so a
 * transition the protocol does not allow is a bug caught where it happens, not a silent state.
 */
enum ConnectionState {
  /** A host program asked for a guest port; our REQUEST is queued or sent, no RESPONSE yet. */
  HOST_CONNECTING,
  /** The guest sent a REQUEST; we are connecting to {@code <uds>_<port>} or owe it a RESPONSE. */
  GUEST_CONNECTING,
  /** Handshake done: data flows both ways under credit control. */
  ESTABLISHED,
  /**
   * One side said it is done (a guest SHUTDOWN, or end-of-file from the host socket). Data may
   * still flow in the directions left open; a timeout bounds the wait for the final RST.
   */
  SHUTTING_DOWN,
  /** Gone: host socket closed, port freed. Terminal. */
  CLOSED;

  private Set<ConnectionState> next() {
    return switch (this) {
      case HOST_CONNECTING, GUEST_CONNECTING -> EnumSet.of(ESTABLISHED, CLOSED);
      case ESTABLISHED -> EnumSet.of(SHUTTING_DOWN, CLOSED);
      case SHUTTING_DOWN -> EnumSet.of(SHUTTING_DOWN, CLOSED);
      case CLOSED -> EnumSet.noneOf(ConnectionState.class);
    };
  }

  boolean canMoveTo(ConnectionState target) {
    return next().contains(target);
  }
}

package run.cocoon.agent.server;

import run.cocoon.agent.guest.GuestLibc;

/**
 * The agent serves only the host. Over vsock a connection's peer must be the host
 * ({@code VMADDR_CID_HOST}): a process in the guest (a container's, say) that reaches the agent's
 * port, through loopback or the guest's own CID, is refused before a byte is read, for control
 * and stdio connections alike. Unix sockets (the AOT training run, tests) have no CID and are
 * reachable only by whoever made them.
 */
final class HostOnlyPeers {
  private HostOnlyPeers() {}

  /** Null when this peer may talk to the agent; otherwise why it may not. */
  static String refusal(boolean vsock, int peerCid, int peerPort) {
    if (!vsock || peerCid == GuestLibc.VMADDR_CID_HOST) {
      return null;
    }
    return "refused a vsock connection from CID " + Integer.toUnsignedString(peerCid) + " port "
        + Integer.toUnsignedString(peerPort) + ": the agent serves only the host (CID "
        + GuestLibc.VMADDR_CID_HOST + ")";
  }
}

package run.cocoon.agent.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostOnlyPeersTest {
  private static final int GUEST_CID = 3;

  @Test
  void theHostIsServed() {
    assertNull(HostOnlyPeers.refusal(true, 2, 1_075_000_000));
  }

  @Test
  void everyOtherVsockPeerIsRefused() {
    for (int cid : new int[] {0, 1, GUEST_CID, 4, -1, -2}) {
      String refusal = HostOnlyPeers.refusal(true, cid, 50_000);
      assertTrue(refusal != null && refusal.contains("CID " + Integer.toUnsignedString(cid)), "CID " + cid);
    }
    assertEquals("refused a vsock connection from CID 3 port 4294967295: the agent serves only the"
        + " host (CID 2)", HostOnlyPeers.refusal(true, GUEST_CID, -1));
  }

  @Test
  void unixPeersHaveNoCid() {
    assertNull(HostOnlyPeers.refusal(false, -1, -1));
  }
}

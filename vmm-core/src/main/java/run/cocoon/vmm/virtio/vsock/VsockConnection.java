package run.cocoon.vmm.virtio.vsock;

import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One vsock stream between a guest port and a host Unix socket: its state, what it owes the
 * guest (packets to put on the RX queue), and the credit accounting of both directions (virtio
 * 1.2, 5.10.6.3). Owned by the muxer's worker thread; never touched from anywhere else.
 *
 * <p>Counters are the protocol's free-running unsigned 32-bit values, kept in ints: differences
 * are taken with wrapping arithmetic and read as unsigned.
 */
final class VsockConnection {
  /** Packets this connection owes the guest, as bits of {@link #pending}. */
  static final int PENDING_REQUEST = 1;
  static final int PENDING_RESPONSE = 2;
  /** The host socket is readable: a data packet (or end of stream) is waiting. */
  static final int PENDING_READ = 4;
  static final int PENDING_CREDIT_UPDATE = 8;

  final int localPort;
  final int peerPort;
  final SocketChannel channel;
  /** Whether we picked {@link #localPort} (host-initiated) and must free it. */
  final boolean hostInitiated;
  SelectionKey key;

  private ConnectionState state;
  /** The guest has heard of this connection (sent or received a REQUEST): an RST means something. */
  boolean guestKnows;
  /** A non-blocking connect to the host socket is still in progress. */
  boolean connectPending;
  boolean guestWontReceive;
  boolean guestWontSend;
  boolean hostClosed;
  /** System.nanoTime() at which a handshake or shutdown gives up; 0 when none. */
  long deadline;

  int pending;
  /** In the muxer's RX schedule. */
  boolean scheduled;

  // Host to guest: the guest's buffer as it last told us, and what we sent.
  int peerBufAlloc;
  int peerFwdCnt;
  int rxCnt;
  /** We asked the guest for credit and have not heard back. */
  boolean creditRequested;

  // Guest to host: what arrived, what the host socket took, what we last told the guest.
  int guestTxCnt;
  int fwdCnt;
  int lastFwdCntSent;
  final TxBuffer txBuffer;

  VsockConnection(int localPort, int peerPort, SocketChannel channel, boolean hostInitiated,
      ConnectionState state, int bufferBytes) {
    this.localPort = localPort;
    this.peerPort = peerPort;
    this.channel = channel;
    this.hostInitiated = hostInitiated;
    this.state = state;
    this.txBuffer = new TxBuffer(bufferBytes);
  }

  /** The connection map key: host port in the high half, guest port in the low half. */
  static long key(int localPort, int peerPort) {
    return (Integer.toUnsignedLong(localPort) << 32) | Integer.toUnsignedLong(peerPort);
  }

  long key() {
    return key(localPort, peerPort);
  }

  ConnectionState state() {
    return state;
  }

  void moveTo(ConnectionState target) {
    if (!state.canMoveTo(target)) {
      throw new IllegalStateException("vsock connection " + this + ": " + state + " -> " + target);
    }
    state = target;
  }

  boolean has(int bit) {
    return (pending & bit) != 0;
  }

  void set(int bit) {
    pending |= bit;
  }

  void clear(int bit) {
    pending &= ~bit;
  }

  /** Whether data from the guest is still accepted. */
  boolean guestMaySend() {
    return state == ConnectionState.ESTABLISHED
        || (state == ConnectionState.SHUTTING_DOWN && !guestWontSend && !hostClosed);
  }

  /** Whether data from the host socket is still forwarded to the guest. */
  boolean hostMaySend() {
    return state == ConnectionState.ESTABLISHED
        || (state == ConnectionState.SHUTTING_DOWN && !guestWontReceive && !hostClosed);
  }

  /** Bytes the guest can take now: its buf_alloc minus what we sent that it has not forwarded. */
  long peerCredit() {
    long inFlight = Integer.toUnsignedLong(rxCnt - peerFwdCnt);
    long alloc = Integer.toUnsignedLong(peerBufAlloc);
    return inFlight >= alloc ? 0 : alloc - inFlight;
  }

  /** Every guest packet carries its current buffer size and forward count. */
  void updatePeerCredit(PacketHeader h) {
    peerBufAlloc = h.bufAlloc();
    peerFwdCnt = h.fwdCnt();
    if (peerCredit() > 0) {
      creditRequested = false;
    }
  }

  /**
   * Whether {@code length} more guest bytes stay inside the credit we granted: the guest may have
   * at most our buffer size in flight beyond the forward count we last told it.
   */
  boolean withinGrantedCredit(long length, int bufferBytes) {
    return Integer.toUnsignedLong(guestTxCnt - lastFwdCntSent) + length <= bufferBytes;
  }

  /**
   * Whether the guest, going by the last forward count it heard, believes it has less than
   * {@code threshold} bytes of room although we have freed some since.
   */
  boolean guestNeedsCreditUpdate(int bufferBytes, int threshold) {
    long believedFree = bufferBytes - Integer.toUnsignedLong(guestTxCnt - lastFwdCntSent);
    return fwdCnt != lastFwdCntSent && believedFree < threshold;
  }

  /** Selector interest: connect completion, room to flush, data to forward while allowed. */
  int interestOps() {
    if (connectPending) {
      return SelectionKey.OP_CONNECT;
    }
    int ops = 0;
    if (!txBuffer.isEmpty()) {
      ops |= SelectionKey.OP_WRITE;
    }
    // Without credit we still watch once, to ask the guest for more when data is waiting.
    if (hostMaySend() && !has(PENDING_READ) && (peerCredit() > 0 || !creditRequested)) {
      ops |= SelectionKey.OP_READ;
    }
    return ops;
  }

  @Override
  public String toString() {
    return "host port " + Integer.toUnsignedString(localPort) + " <-> guest port "
        + Integer.toUnsignedString(peerPort) + " (" + state + ")";
  }
}

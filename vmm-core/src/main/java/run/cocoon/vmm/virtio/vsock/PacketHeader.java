package run.cocoon.vmm.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 44-byte header of a virtio-vsock packet (virtio 1.2, 5.10.6, {@code struct
 * virtio_vsock_hdr}), little-endian. CIDs are unsigned 64-bit, ports, length, flags and credit
 * counters unsigned 32-bit (held in ints, compared with the unsigned helpers).
 */
record PacketHeader(long srcCid, long dstCid, int srcPort, int dstPort, int len, int type, int op,
    int flags, int bufAlloc, int fwdCnt) {
  static final int BYTES = 44;

  /** The well-known CID of the host. */
  static final long HOST_CID = 2;

  static final int TYPE_STREAM = 1;

  static final int OP_REQUEST = 1;
  static final int OP_RESPONSE = 2;
  static final int OP_RST = 3;
  static final int OP_SHUTDOWN = 4;
  static final int OP_RW = 5;
  static final int OP_CREDIT_UPDATE = 6;
  static final int OP_CREDIT_REQUEST = 7;

  /** SHUTDOWN flag: the sender will receive no more data. */
  static final int SHUTDOWN_RCV = 1;
  /** SHUTDOWN flag: the sender will send no more data. */
  static final int SHUTDOWN_SEND = 2;

  static PacketHeader decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    return new PacketHeader(b.getLong(0), b.getLong(8), b.getInt(16), b.getInt(20), b.getInt(24),
        Short.toUnsignedInt(b.getShort(28)), Short.toUnsignedInt(b.getShort(30)), b.getInt(32),
        b.getInt(36), b.getInt(40));
  }

  byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(srcCid).putLong(dstCid).putInt(srcPort).putInt(dstPort).putInt(len)
        .putShort((short) type).putShort((short) op).putInt(flags).putInt(bufAlloc).putInt(fwdCnt);
    return b.array();
  }

  /** Payload length as an unsigned value. */
  long length() {
    return Integer.toUnsignedLong(len);
  }

  static String opName(int op) {
    return switch (op) {
      case OP_REQUEST -> "REQUEST";
      case OP_RESPONSE -> "RESPONSE";
      case OP_RST -> "RST";
      case OP_SHUTDOWN -> "SHUTDOWN";
      case OP_RW -> "RW";
      case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
      case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
      default -> "op " + op;
    };
  }

  @Override
  public String toString() {
    return opName(op) + " " + Long.toUnsignedString(srcCid) + ":" + Integer.toUnsignedString(srcPort)
        + " -> " + Long.toUnsignedString(dstCid) + ":" + Integer.toUnsignedString(dstPort)
        + " len " + Integer.toUnsignedString(len) + " type " + type + " flags 0x"
        + Integer.toHexString(flags);
  }
}

package run.cocoon.vmm.virtio.net;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** Builds and reads Ethernet, ARP, IPv4 and ICMP bytes for tests, checksums included. */
final class Frames {
  static final int ETH_HEADER = 14;
  static final int ETHERTYPE_IPV4 = 0x0800;
  static final int ETHERTYPE_ARP = 0x0806;
  static final int ARP_REQUEST = 1;
  static final int ARP_REPLY = 2;
  static final int PROTO_ICMP = 1;
  static final int ICMP_ECHO_REPLY = 0;
  static final int ICMP_ECHO_REQUEST = 8;
  static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};

  private Frames() {}

  static byte[] mac(MacAddress mac) {
    byte[] out = new byte[MacAddress.OCTETS];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) mac.octet(i);
    }
    return out;
  }

  static byte[] ip(String dotted) {
    try {
      return InetAddress.getByName(dotted).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** A virtio_net_hdr_v1 of zeros (no offload) in front of {@code frame}. */
  static byte[] withHeader(byte[] frame) {
    byte[] out = new byte[VirtioNet.HEADER_BYTES + frame.length];
    System.arraycopy(frame, 0, out, VirtioNet.HEADER_BYTES, frame.length);
    return out;
  }

  static byte[] ethernet(byte[] dst, byte[] src, int type, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(dst);
    out.writeBytes(src);
    u16(out, type);
    out.writeBytes(payload);
    return out.toByteArray();
  }

  static byte[] arp(int op, byte[] senderMac, byte[] senderIp, byte[] targetMac, byte[] targetIp) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    u16(out, 1); // Ethernet
    u16(out, ETHERTYPE_IPV4);
    out.write(6);
    out.write(4);
    u16(out, op);
    out.writeBytes(senderMac);
    out.writeBytes(senderIp);
    out.writeBytes(targetMac);
    out.writeBytes(targetIp);
    return out.toByteArray();
  }

  static byte[] ipv4(byte[] src, byte[] dst, int protocol, byte[] payload) {
    byte[] p = new byte[20 + payload.length];
    p[0] = 0x45;
    put16(p, 2, p.length);
    put16(p, 4, 0x1234);
    p[8] = 64;
    p[9] = (byte) protocol;
    System.arraycopy(src, 0, p, 12, 4);
    System.arraycopy(dst, 0, p, 16, 4);
    put16(p, 10, checksum(p, 0, 20));
    System.arraycopy(payload, 0, p, 20, payload.length);
    return p;
  }

  /** An ICMP echo message; its checksum is left zero when {@code checksummed} is false. */
  static byte[] icmpEcho(int type, int id, int sequence, byte[] data, boolean checksummed) {
    byte[] p = new byte[8 + data.length];
    p[0] = (byte) type;
    put16(p, 4, id);
    put16(p, 6, sequence);
    System.arraycopy(data, 0, p, 8, data.length);
    if (checksummed) {
      put16(p, 2, checksum(p, 0, p.length));
    }
    return p;
  }

  /** The Internet checksum (RFC 1071). */
  static int checksum(byte[] b, int offset, int length) {
    long sum = 0;
    for (int i = 0; i + 1 < length; i += 2) {
      sum += u16(b, offset + i);
    }
    if ((length & 1) != 0) {
      sum += (b[offset + length - 1] & 0xff) << 8;
    }
    while (sum >> 16 != 0) {
      sum = (sum & 0xffff) + (sum >> 16);
    }
    return (int) ~sum & 0xffff;
  }

  static int u16(byte[] b, int offset) {
    return (b[offset] & 0xff) << 8 | (b[offset + 1] & 0xff);
  }

  /** A little-endian u16 (virtio header fields). */
  static int u16le(byte[] b, int offset) {
    return (b[offset] & 0xff) | (b[offset + 1] & 0xff) << 8;
  }

  static void put16(byte[] b, int offset, int value) {
    b[offset] = (byte) (value >>> 8);
    b[offset + 1] = (byte) value;
  }

  private static void u16(ByteArrayOutputStream out, int value) {
    out.write(value >>> 8);
    out.write(value);
  }

  static byte[] slice(byte[] b, int from, int length) {
    return Arrays.copyOfRange(b, from, from + length);
  }

  /** The Ethernet frame after the virtio header. */
  static byte[] payloadOf(byte[] withHeader) {
    return Arrays.copyOfRange(withHeader, VirtioNet.HEADER_BYTES, withHeader.length);
  }
}

package run.cocoon.vmm.boot;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few ACPI Machine Language encodings our DSDT needs (ACPI 6.x, chapter 20), written by
 * hand so the VMM needs no ASL compiler. Each method returns the encoded bytes of one term.
 */
final class Aml {
  static final int ZERO_OP = 0x00;
  static final int ONE_OP = 0x01;
  static final int NAME_OP = 0x08;
  static final int BYTE_PREFIX = 0x0a;
  static final int WORD_PREFIX = 0x0b;
  static final int DWORD_PREFIX = 0x0c;
  static final int STRING_PREFIX = 0x0d;
  static final int SCOPE_OP = 0x10;
  static final int BUFFER_OP = 0x11;
  static final int PACKAGE_OP = 0x12;
  static final int EXT_OP_PREFIX = 0x5b;
  static final int DEVICE_OP = 0x82;
  static final int ROOT_CHAR = 0x5c;

  private Aml() {}

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /**
   * PkgLength: the length of the package including the PkgLength bytes themselves. One byte holds
   * up to 63; longer lengths put the byte count in bits 7-6 of the first byte, the low nibble in
   * its bits 3-0 and the rest in the following bytes.
   */
  static byte[] pkgLength(int contentBytes) {
    if (contentBytes + 1 <= 0x3f) {
      return new byte[] {(byte) (contentBytes + 1)};
    }
    for (int n = 2; n <= 4; n++) {
      int total = contentBytes + n;
      if (total < 1 << (4 + 8 * (n - 1))) {
        byte[] out = new byte[n];
        out[0] = (byte) ((n - 1) << 6 | (total & 0xf));
        for (int i = 1; i < n; i++) {
          out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
        }
        return out;
      }
    }
    throw new IllegalArgumentException("AML package too large: " + contentBytes);
  }

  /** A four-character name segment; names are upper case letters, digits and '_'. */
  static byte[] nameSeg(String name) {
    if (!name.matches("[A-Z_][A-Z0-9_]{3}")) {
      throw new IllegalArgumentException("bad AML name " + name);
    }
    return name.getBytes(StandardCharsets.US_ASCII);
  }

  /** Name(name, value): NameOp NameSeg DataRefObject. */
  static byte[] name(String name, byte[] value) {
    return concat(new byte[] {NAME_OP}, nameSeg(name), value);
  }

  /** The shortest integer encoding: ZeroOp, OneOp, or a Byte/Word/DWord constant. */
  static byte[] integer(long value) {
    if (value == 0) {
      return new byte[] {ZERO_OP};
    }
    if (value == 1) {
      return new byte[] {ONE_OP};
    }
    if (value <= 0xff) {
      return new byte[] {BYTE_PREFIX, (byte) value};
    }
    if (value <= 0xffff) {
      return new byte[] {WORD_PREFIX, (byte) value, (byte) (value >> 8)};
    }
    return new byte[] {DWORD_PREFIX, (byte) value, (byte) (value >> 8), (byte) (value >> 16),
        (byte) (value >> 24)};
  }

  /** String constant: StringPrefix, ASCII, NUL. */
  static byte[] string(String s) {
    return concat(new byte[] {STRING_PREFIX}, s.getBytes(StandardCharsets.US_ASCII), new byte[1]);
  }

  /**
   * EISA id as the 32-bit constant ACPI stores: three letters in 5 bits each (A = 1) followed
   * by four hex digits, bytes in big-endian order. "PNP0501" is 0x0105d041.
   */
  static long eisaId(String id) {
    int l1 = id.charAt(0) - '@';
    int l2 = id.charAt(1) - '@';
    int l3 = id.charAt(2) - '@';
    int product = Integer.parseInt(id.substring(3), 16);
    int b0 = (l1 << 2) | (l2 >> 3);
    int b1 = ((l2 & 7) << 5) | l3;
    return (b0 & 0xff) | (b1 & 0xff) << 8 | ((product >> 8) & 0xff) << 16
        | (long) (product & 0xff) << 24;
  }

  /** Package(){elements}: PackageOp PkgLength NumElements elements. */
  static byte[] packageOf(byte[]... elements) {
    byte[] body = concat(new byte[] {(byte) elements.length}, concat(elements));
    return concat(new byte[] {PACKAGE_OP}, pkgLength(body.length), body);
  }

  /** Buffer(){bytes}: BufferOp PkgLength BufferSize bytes. */
  static byte[] buffer(byte[] bytes) {
    byte[] body = concat(integer(bytes.length), bytes);
    return concat(new byte[] {BUFFER_OP}, pkgLength(body.length), body);
  }

  /** Scope(\name){terms}, with a root-relative path. */
  static byte[] rootScope(String name, byte[] terms) {
    byte[] body = concat(new byte[] {ROOT_CHAR}, nameSeg(name), terms);
    return concat(new byte[] {SCOPE_OP}, pkgLength(body.length), body);
  }

  /** Device(name){terms}: ExtOpPrefix DeviceOp PkgLength NameSeg terms. */
  static byte[] device(String name, byte[] terms) {
    byte[] body = concat(nameSeg(name), terms);
    return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, pkgLength(body.length), body);
  }

  /** ResourceTemplate(){descriptors}: a Buffer ending with the End Tag (checksum 0 = none). */
  static byte[] resourceTemplate(byte[]... descriptors) {
    return buffer(concat(concat(descriptors), new byte[] {0x79, 0x00}));
  }

  /** IO(Decode16, base, base, 1, length): small descriptor 0x47. */
  static byte[] io(int base, int length) {
    return new byte[] {0x47, 0x01, (byte) base, (byte) (base >> 8), (byte) base,
        (byte) (base >> 8), 0x01, (byte) length};
  }

  /** IRQNoFlags(){irq}: small descriptor 0x22, an ISA IRQ (edge, active high) as a bit mask. */
  static byte[] irqNoFlags(int irq) {
    int mask = 1 << irq;
    return new byte[] {0x22, (byte) mask, (byte) (mask >> 8)};
  }

  /** Memory32Fixed(ReadWrite, base, length): large descriptor 0x86, 9 data bytes. */
  static byte[] memory32Fixed(long base, long length) {
    return new byte[] {(byte) 0x86, 0x09, 0x00, 0x01,
        (byte) base, (byte) (base >> 8), (byte) (base >> 16), (byte) (base >> 24),
        (byte) length, (byte) (length >> 8), (byte) (length >> 16), (byte) (length >> 24)};
  }

  /**
   * Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive){gsi}: large descriptor 0x89. Flags
   * 0x03 = consumer (bit 0) and edge-triggered (bit 1); virtio-mmio interrupts are edges, which is
   * what an irqfd into KVM's IOAPIC delivers.
   */
  static byte[] interruptEdge(int gsi) {
    return new byte[] {(byte) 0x89, 0x06, 0x00, 0x03, 0x01,
        (byte) gsi, (byte) (gsi >> 8), (byte) (gsi >> 16), (byte) (gsi >> 24)};
  }
}

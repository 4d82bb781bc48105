package run.cocoon.vmm.virtio.net;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An Ethernet unicast address, 48 bits in {@code value} (first octet in the high byte).
 *
 * @param value the address; a group (multicast) address or all zeros is refused
 */
public record MacAddress(long value) {
  /** Octets in an address. */
  public static final int OCTETS = 6;

  public MacAddress {
    if (value >>> 48 != 0) {
      throw new IllegalArgumentException("MAC address wider than 48 bits");
    }
    if (value == 0) {
      throw new IllegalArgumentException("MAC address 00:00:00:00:00:00 is not an interface address");
    }
    if ((value >>> 40 & 1) != 0) {
      throw new IllegalArgumentException("MAC address " + format(value)
          + " is a group (multicast) address; the first octet must be even");
    }
  }

  /** Parses {@code aa:bb:cc:dd:ee:ff} (hexadecimal, either case). */
  public static MacAddress parse(String text) {
    String[] parts = text.split(":", -1);
    if (parts.length != OCTETS || text.length() != 3 * OCTETS - 1) {
      throw new IllegalArgumentException("MAC address must look like 02:00:00:00:00:01");
    }
    long value = 0;
    for (String part : parts) {
      if (part.length() != 2 || !HexFormat.isHexDigit(part.charAt(0))
          || !HexFormat.isHexDigit(part.charAt(1))) {
        throw new IllegalArgumentException("MAC address must look like 02:00:00:00:00:01");
      }
      value = value << 8 | HexFormat.fromHexDigits(part);
    }
    return new MacAddress(value);
  }

  /** A random locally administered unicast address (first octet with bit 1 set, bit 0 clear). */
  public static MacAddress random() {
    long bits = ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL;
    return new MacAddress(bits & ~(0x03L << 40) | 0x02L << 40);
  }

  /** Octet {@code index}, 0 being the first on the wire. */
  public int octet(int index) {
    if (index < 0 || index >= OCTETS) {
      throw new IndexOutOfBoundsException("octet " + index);
    }
    return (int) (value >>> 8 * (OCTETS - 1 - index)) & 0xff;
  }

  /** Whether the address is locally administered (not assigned by a vendor). */
  public boolean locallyAdministered() {
    return (octet(0) & 0x02) != 0;
  }

  @Override
  public String toString() {
    return format(value);
  }

  private static String format(long value) {
    StringBuilder out = new StringBuilder();
    for (int i = OCTETS - 1; i >= 0; i--) {
      out.append(HexFormat.of().toHexDigits((byte) (value >>> 8 * i)));
      if (i > 0) {
        out.append(':');
      }
    }
    return out.toString();
  }
}

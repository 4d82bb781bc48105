package run.cocoon.vmm;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A virtio device a VM should have, as the user asked for it. Checked on construction, so a bad
 * request fails before anything is opened.
 */
public sealed interface VirtioSpec {
  /** Longest virtio-blk serial (VIRTIO_BLK_ID_BYTES). */
  int MAX_SERIAL_BYTES = 20;
  /** Longest host network interface name (IFNAMSIZ - 1). */
  int MAX_TAP_NAME = 15;

  /** A raw disk image. */
  record Disk(Path image, boolean readOnly, String serial) implements VirtioSpec {
    private static final Pattern SERIAL = Pattern.compile("[A-Za-z0-9._-]{0," + MAX_SERIAL_BYTES + "}");

    public Disk {
      Objects.requireNonNull(image, "image");
      serial = serial == null ? "" : serial;
      if (!SERIAL.matcher(serial).matches()) {
        throw new IllegalArgumentException("disk serial must be at most " + MAX_SERIAL_BYTES
            + " characters of A-Z a-z 0-9 . _ -, got \"" + serial + "\"");
      }
    }
  }

  /** A vsock device whose host side is the Unix socket {@code socket} (hybrid vsock). */
  record Vsock(long guestCid, Path socket) implements VirtioSpec {
    /** Lowest CID a guest may have (0-2 are reserved: hypervisor, local, host). */
    public static final long MIN_GUEST_CID = 3;
    /** Highest CID a guest may have (U32_MAX is VMADDR_CID_ANY). */
    public static final long MAX_GUEST_CID = 0xffff_fffeL;

    public Vsock {
      Objects.requireNonNull(socket, "socket");
      if (guestCid < MIN_GUEST_CID || guestCid > MAX_GUEST_CID) {
        throw new IllegalArgumentException("guest CID must be between " + MIN_GUEST_CID + " and "
            + MAX_GUEST_CID + ", got " + guestCid);
      }
    }
  }

  /** A network device backed by the host TAP interface {@code tap}; {@code mac} may be null. */
  record Net(String tap, String mac) implements VirtioSpec {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1," + MAX_TAP_NAME + "}");
    private static final Pattern MAC = Pattern.compile("([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}");

    public Net {
      Objects.requireNonNull(tap, "tap");
      if (!NAME.matcher(tap).matches()) {
        throw new IllegalArgumentException("TAP name must be 1 to " + MAX_TAP_NAME
            + " characters of A-Z a-z 0-9 _ . -, got \"" + tap + "\"");
      }
      if (mac != null && !MAC.matcher(mac).matches()) {
        throw new IllegalArgumentException("MAC address must look like 02:00:00:00:00:01, got \""
            + mac + "\"");
      }
      if (mac != null && (Integer.parseInt(mac.substring(0, 2), 16) & 1) != 0) {
        throw new IllegalArgumentException("MAC address " + mac + " is a multicast address");
      }
    }
  }

  /** An entropy source fed from the host's getrandom(2). */
  record Rng() implements VirtioSpec {}
}

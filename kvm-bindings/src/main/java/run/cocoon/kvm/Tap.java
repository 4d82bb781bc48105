package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A TAP network interface opened through {@code /dev/net/tun}: one Ethernet frame per read or
 * write, each preceded by a {@code struct virtio_net_hdr_v1} ({@link #VNET_HDR_BYTES} bytes,
 * IFF_VNET_HDR), so checksum and segmentation offloads pass between a virtio-net driver and the
 * host's stack without anyone parsing packets. The descriptor is non-blocking: {@link #read} and
 * {@link #write} return {@code -EAGAIN} instead of waiting; wait with a {@link PollSet} on
 * {@link #fd()}.
 *
 * <p>Opening a name that does not exist creates an interface that disappears on {@link #close()}
 * (creating needs CAP_NET_ADMIN); opening an existing persistent TAP attaches to it.
 */
public final class Tap implements AutoCloseable {
  /** Size of an interface name buffer, with its terminating NUL. */
  public static final int IFNAMSIZ = 16;
  public static final int IFF_TAP = 0x0002;
  /** No packet-information prefix before each frame. */
  public static final int IFF_NO_PI = 0x1000;
  /** A virtio_net_hdr before each frame. */
  public static final int IFF_VNET_HDR = 0x4000;

  // TUNSETOFFLOAD flags: what the reader of the TAP accepts from the host.
  /** Frames with a partial checksum (NEEDS_CSUM). */
  public static final int TUN_F_CSUM = 0x01;
  /** TCP over IPv4 segmentation offload frames. */
  public static final int TUN_F_TSO4 = 0x02;
  /** TCP over IPv6 segmentation offload frames. */
  public static final int TUN_F_TSO6 = 0x04;
  /** UDP fragmentation offload frames (current kernels accept the flag and never send them). */
  public static final int TUN_F_UFO = 0x10;

  // _IOW('T', nr, int): TUN ioctls take an int-sized argument.
  public static final int TUNSETIFF = iow(202);
  public static final int TUNSETOFFLOAD = iow(208);
  public static final int TUNSETVNETHDRSZ = iow(216);

  /** Bytes of the header before every frame: sizeof(struct virtio_net_hdr_v1). */
  public static final long VNET_HDR_BYTES = Layouts.VIRTIO_NET_HDR_V1.byteSize();

  private static final String DEVICE = "/dev/net/tun";

  private final OwnedFd fd;
  private final String name;

  private Tap(int fd, String name) {
    this.fd = new OwnedFd(fd);
    this.name = name;
  }

  private static int iow(int nr) {
    return 1 << 30 | Integer.BYTES << 16 | 'T' << 8 | nr;
  }

  /**
   * Opens the TAP interface {@code name} with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte
   * header. The name is checked before any system call.
   *
   * @throws IllegalArgumentException when {@code name} is not a plain interface name
   * @throws SyscallException when the kernel refuses (no {@code /dev/net/tun}, EPERM, EBUSY)
   */
  public static Tap open(String name) {
    checkName(name);
    int fd = Libc.open(DEVICE, Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ifr = arena.allocate(Layouts.IFREQ);
      byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
      // At most IFNAMSIZ - 1 bytes: the zero-filled buffer keeps its terminating NUL.
      MemorySegment.copy(bytes, 0, ifr, JAVA_BYTE, Layouts.offset(Layouts.IFREQ, "ifr_name"),
          bytes.length);
      ifr.set(JAVA_SHORT, Layouts.offset(Layouts.IFREQ, "ifr_flags"),
          (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
      Libc.ioctl(fd, "TUNSETIFF", TUNSETIFF, ifr);
      MemorySegment size = arena.allocate(JAVA_INT);
      size.set(JAVA_INT, 0, (int) VNET_HDR_BYTES);
      Libc.ioctl(fd, "TUNSETVNETHDRSZ", TUNSETVNETHDRSZ, size);
      return new Tap(fd, name);
    } catch (RuntimeException e) {
      try {
        Libc.close(fd);
      } catch (SyscallException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Checks that {@code name} is a plain interface name: 1 to {@link #IFNAMSIZ} - 1 characters
   * from {@code [A-Za-z0-9._-]}, not "." or "..". Stricter than the kernel, which would also
   * take a {@code %d} template or other punctuation.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static void checkName(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("TAP name is empty");
    }
    if (name.length() >= IFNAMSIZ) {
      throw new IllegalArgumentException("TAP name is " + name.length()
          + " characters long; at most " + (IFNAMSIZ - 1) + " fit an interface name");
    }
    if (name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException("TAP name \"" + name + "\" is not an interface name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      if (!ok) {
        throw new IllegalArgumentException("TAP name has character U+"
            + String.format("%04X", (int) c) + " at " + i + "; allowed: A-Z a-z 0-9 . _ -");
      }
    }
  }

  /** The interface name. */
  public String name() {
    return name;
  }

  /** The descriptor, for poll(2). */
  public int fd() {
    return fd.get();
  }

  /**
   * Sets which offloaded frames the host may hand to {@link #read} ({@code TUN_F_*}; 0 for fully
   * checksummed, unsegmented frames only). TSO and UFO need {@link #TUN_F_CSUM}.
   */
  public void setOffload(int flags) {
    Libc.ioctl(fd.get(), "TUNSETOFFLOAD", TUNSETOFFLOAD, flags);
  }

  /**
   * Reads one frame (header included) into {@code buffer}; returns its full length, which is
   * larger than the buffer when the frame did not fit and was cut, or {@code -EAGAIN} when none is
   * waiting, or {@code -EINTR}.
   */
  public long read(MemorySegment buffer) {
    return Libc.read(fd.get(), buffer);
  }

  /**
   * Writes one frame (header included); returns its length, or {@code -EAGAIN} when the
   * interface cannot take it now, or {@code -EINTR}. A frame the kernel rejects (bad header, too
   * short, interface down) throws.
   */
  public long write(MemorySegment frame) {
    return Libc.write(fd.get(), frame);
  }

  @Override
  public void close() {
    fd.close();
  }
}

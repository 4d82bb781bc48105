package run.cocoon.vmm.virtio.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import run.cocoon.kvm.Errno;
import run.cocoon.kvm.Libc;

/**
 * A frame port over an AF_UNIX datagram socket pair: the device gets one end, the test the other
 * ("the host"). Datagrams keep frame boundaries, and unread datagrams count against the sender's
 * send buffer (SO_SNDBUF, about 208 KiB by default): once it is full the device's writes fail
 * with EAGAIN, as a full TAP's would.
 */
final class SocketPairPort implements FramePort {
  private final int device;
  private final int host;
  final List<Integer> offloads = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  SocketPairPort() {
    int[] fds = Libc.socketpair(Libc.AF_UNIX,
        Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
    device = fds[0];
    host = fds[1];
  }

  @Override
  public int fd() {
    return device;
  }

  @Override
  public long read(MemorySegment buffer) {
    return Libc.read(device, buffer);
  }

  @Override
  public long write(MemorySegment frame) {
    return Libc.write(device, frame);
  }

  @Override
  public void setOffload(int tunFlags) {
    offloads.add(tunFlags);
  }

  @Override
  public String describe() {
    return "socket pair";
  }

  /** Whether the device end still has a datagram waiting (the device did not read it). */
  boolean deviceHasUnread() {
    try (run.cocoon.kvm.PollSet poll = new run.cocoon.kvm.PollSet(1)) {
      poll.set(0, device, Libc.POLLIN);
      return poll.poll(0) == 1;
    }
  }

  /** The host sends a frame to the device; false when the device end's queue is full. */
  boolean inject(byte[] frame) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, frame.length));
      MemorySegment.copy(frame, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, frame.length);
      long n = Libc.write(host, s.asSlice(0, frame.length));
      if (n == -Errno.EAGAIN) {
        return false;
      }
      if (n != frame.length) {
        throw new IllegalStateException("wrote " + n + " of " + frame.length);
      }
      return true;
    }
  }

  /** The next frame the device wrote, or null when none is waiting. */
  byte[] take() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(VirtioNet.MAX_FRAME_BYTES + 1);
      long n = Libc.read(host, s);
      if (n == -Errno.EAGAIN) {
        return null;
      }
      if (n < 0) {
        throw new IllegalStateException("read: " + n);
      }
      return s.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Libc.close(device);
      Libc.close(host);
    }
  }
}

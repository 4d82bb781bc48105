package run.cocoon.vmm.virtio.net;

import java.lang.foreign.MemorySegment;
import run.cocoon.kvm.Tap;

/**
 * The host end of a virtio-net device: one frame, virtio_net_hdr_v1 first, per read or write, and
 * a descriptor to wait on. A {@link Tap} in production; tests plug in other frame carriers.
 */
interface FramePort extends AutoCloseable {
  /** A descriptor that polls readable when a frame can be read and writable when one can be written. */
  int fd();

  /**
   * Reads one frame into {@code buffer}; returns its full length (more than the buffer when it was
   * cut), or {@code -EAGAIN} when none is waiting, or {@code -EINTR}.
   */
  long read(MemorySegment buffer);

  /** Writes one frame; returns its length, or {@code -EAGAIN} when it cannot be taken now, or {@code -EINTR}. */
  long write(MemorySegment frame);

  /** Which offloaded frames ({@code Tap.TUN_F_*}) the device accepts from the host. */
  void setOffload(int tunFlags);

  /** For messages: "tap0". */
  String describe();

  @Override
  void close();

  /** A TAP as a port. */
  static FramePort of(Tap tap) {
    return new FramePort() {
      @Override
      public int fd() {
        return tap.fd();
      }

      @Override
      public long read(MemorySegment buffer) {
        return tap.read(buffer);
      }

      @Override
      public long write(MemorySegment frame) {
        return tap.write(frame);
      }

      @Override
      public void setOffload(int tunFlags) {
        tap.setOffload(tunFlags);
      }

      @Override
      public String describe() {
        return "TAP " + tap.name();
      }

      @Override
      public void close() {
        tap.close();
      }
    };
  }
}

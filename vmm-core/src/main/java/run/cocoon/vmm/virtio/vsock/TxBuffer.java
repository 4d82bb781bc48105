package run.cocoon.vmm.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;

/**
 * Guest-to-host bytes that the host socket did not take yet, in a ring of fixed capacity. The
 * capacity is the credit we advertise, so a guest that respects flow control never overfills it;
 * one that does not is reset before anything is copied. The array exists only while bytes wait,
 * so idle connections hold no buffer.
 */
final class TxBuffer {
  private final int capacity;
  private byte[] ring;
  private int head;
  private int size;

  TxBuffer(int capacity) {
    this.capacity = capacity;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  int free() {
    return capacity - size;
  }

  /** Appends all of {@code src}'s remaining bytes; the caller checked they fit. */
  void append(ByteBuffer src) {
    int n = src.remaining();
    if (n > free()) {
      throw new IllegalStateException("tx buffer overflow: " + n + " > " + free());
    }
    if (ring == null) {
      ring = new byte[capacity];
      head = 0;
    }
    int tail = (head + size) % capacity;
    int first = Math.min(n, capacity - tail);
    src.get(ring, tail, first);
    src.get(ring, 0, n - first);
    size += n;
  }

  /** Writes what the channel takes now; returns how many bytes left the buffer. */
  long flushTo(GatheringByteChannel channel) throws IOException {
    if (size == 0) {
      return 0;
    }
    int first = Math.min(size, capacity - head);
    ByteBuffer[] parts = {ByteBuffer.wrap(ring, head, first), ByteBuffer.wrap(ring, 0, size - first)};
    long written = channel.write(parts);
    head = (int) ((head + written) % capacity);
    size -= (int) written;
    if (size == 0) {
      clear();
    }
    return written;
  }

  void clear() {
    ring = null;
    head = 0;
    size = 0;
  }
}

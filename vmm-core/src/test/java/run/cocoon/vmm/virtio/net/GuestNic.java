package run.cocoon.vmm.virtio.net;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/**
 * The guest's side of a {@link VirtioNet} for tests: the shared {@link VirtioDriver} with receive
 * buffers kept posted and reassembled into frames (one chain each, or several with MRG_RXBUF),
 * and transmit requests laid out as Linux does (header, then frame).
 */
final class GuestNic implements AutoCloseable {
  final VirtioDriver driver;
  final DriverQueue rx;
  final DriverQueue tx;
  final boolean mergeable;
  private final Map<Integer, List<DriverQueue.Buffer>> posted = new HashMap<>();
  private final ArrayDeque<DriverQueue.Used> received = new ArrayDeque<>();

  GuestNic(VirtioNet device, long features, int queueSize) {
    this.driver = new VirtioDriver(device).start(features, queueSize);
    this.rx = driver.queue(VirtioNet.RX_QUEUE);
    this.tx = driver.queue(VirtioNet.TX_QUEUE);
    this.mergeable = (features & (1L << VirtioNet.F_MRG_RXBUF)) != 0;
  }

  /** Posts {@code count} receive chains of one {@code bytes}-byte buffer each and kicks. */
  void post(int count, int bytes) {
    for (int i = 0; i < count; i++) {
      post(List.of(rx.writable(bytes)));
    }
  }

  /** Posts one receive chain and kicks. */
  int post(List<DriverQueue.Buffer> buffers) {
    int head = rx.add(buffers);
    posted.put(head, buffers);
    driver.kick(VirtioNet.RX_QUEUE);
    return head;
  }

  /** Sends {@code frame} (header included) as a header descriptor plus a frame descriptor. */
  DriverQueue.Used send(byte[] frame) {
    int split = Math.min(VirtioNet.HEADER_BYTES, frame.length);
    List<DriverQueue.Buffer> chain = new ArrayList<>();
    chain.add(tx.readable(java.util.Arrays.copyOf(frame, split)));
    if (frame.length > split) {
      chain.add(tx.readable(java.util.Arrays.copyOfRange(frame, split, frame.length)));
    }
    return sendChain(chain);
  }

  /** Sends any chain; returns its used element. */
  DriverQueue.Used sendChain(List<DriverQueue.Buffer> chain) {
    int head = tx.add(chain);
    driver.kick(VirtioNet.TX_QUEUE);
    List<DriverQueue.Used> used = tx.takeUsed();
    if (used.size() != 1 || used.getFirst().head() != head) {
      throw new AssertionError("transmit of head " + head + " answered with " + used);
    }
    return used.getFirst();
  }

  /**
   * The next received frame with its header, or null after {@code timeout}. Its buffers are
   * posted again.
   */
  byte[] receive(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      received.addAll(rx.takeUsed());
      byte[] frame = assemble();
      if (frame != null) {
        return frame;
      }
      if (System.nanoTime() > deadline) {
        return null;
      }
      Thread.sleep(2);
    }
  }

  /** Receives until a frame matches, skipping others (the host's IPv6 chatter); null on timeout. */
  byte[] receive(Duration timeout, java.util.function.Predicate<byte[]> wanted)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      byte[] frame = receive(Duration.ofNanos(Math.max(0, left)));
      if (frame == null || wanted.test(frame)) {
        return frame;
      }
    }
  }

  private byte[] assemble() {
    if (received.isEmpty()) {
      return null;
    }
    DriverQueue.Used first = received.getFirst();
    byte[] head = read(first);
    int buffers = mergeable && head.length >= VirtioNet.HEADER_BYTES
        ? Frames.u16le(head, 10) : 1;
    if (buffers < 1 || received.size() < buffers) {
      if (buffers < 1) {
        throw new AssertionError("num_buffers " + buffers);
      }
      return null;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < buffers; i++) {
      DriverQueue.Used u = received.removeFirst();
      out.writeBytes(read(u));
      post(posted.remove(u.head()));
    }
    return out.toByteArray();
  }

  private byte[] read(DriverQueue.Used used) {
    List<DriverQueue.Buffer> buffers = posted.get(used.head());
    if (buffers == null) {
      throw new AssertionError("used head " + used.head() + " was not posted");
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int left = used.length();
    for (DriverQueue.Buffer b : buffers) {
      int n = Math.min(left, b.length());
      out.writeBytes(rx.read(b.address(), n));
      left -= n;
    }
    if (left != 0) {
      throw new AssertionError("used length " + used.length() + " exceeds the chain");
    }
    return out.toByteArray();
  }

  @Override
  public void close() {
    driver.close();
  }
}

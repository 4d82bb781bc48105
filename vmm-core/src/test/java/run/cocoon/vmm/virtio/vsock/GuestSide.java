package run.cocoon.vmm.virtio.vsock;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/**
 * The guest's vsock driver, reduced to what tests need: RX buffers posted and recycled, TX
 * packets written into one reusable slot and sent synchronously (the call returns once the device
 * has consumed the chain), received packets decoded.
 */
final class GuestSide implements AutoCloseable {
  static final long CID = 3;
  static final int QUEUE_SIZE = 64;
  static final int RX_BUFFER = PacketHeader.BYTES + 4096;
  /** The TX slot holds a little more than the largest legal payload, for oversized packets. */
  static final int TX_PAYLOAD_SLOT = VirtioVsock.MAX_PACKET_PAYLOAD + 4096;
  static final Duration WAIT = Duration.ofSeconds(5);

  record Packet(PacketHeader header, byte[] payload) {
    int op() {
      return header.op();
    }
  }

  final Path uds;
  final VirtioVsock device;
  final VirtioDriver driver;
  final DriverQueue rx;
  final DriverQueue tx;
  private final Map<Integer, DriverQueue.Buffer> rxPosted = new HashMap<>();
  private final ArrayDeque<Packet> received = new ArrayDeque<>();
  private final DriverQueue.Buffer txHeader;
  private final DriverQueue.Buffer txPayload;
  private boolean recycle = true;
  private boolean closed;

  GuestSide(Path dir) throws IOException {
    this.uds = dir.resolve("v.sock");
    this.device = new VirtioVsock("vsock0", CID, uds);
    this.driver = new VirtioDriver(device).start(QUEUE_SIZE);
    this.rx = driver.queue(VsockMuxer.RX_QUEUE);
    this.tx = driver.queue(VsockMuxer.TX_QUEUE);
    this.txHeader = new DriverQueue.Buffer(tx.allocate(PacketHeader.BYTES), PacketHeader.BYTES, false);
    this.txPayload = new DriverQueue.Buffer(tx.allocate(TX_PAYLOAD_SLOT), TX_PAYLOAD_SLOT, false);
  }

  /** Posts {@code count} fresh RX buffers and kicks the RX queue. */
  GuestSide postRx(int count) {
    for (int i = 0; i < count; i++) {
      DriverQueue.Buffer b = rx.writable(RX_BUFFER);
      rxPosted.put(rx.add(List.of(b)), b);
    }
    driver.kick(VsockMuxer.RX_QUEUE);
    return this;
  }

  /** Whether received buffers go straight back to the device (a guest that keeps reading). */
  void recycleRx(boolean on) {
    recycle = on;
  }

  /** A well-formed header from the guest with our default credit. */
  static PacketHeader header(int op, int srcPort, int dstPort, int len) {
    return new PacketHeader(CID, PacketHeader.HOST_CID, srcPort, dstPort, len,
        PacketHeader.TYPE_STREAM, op, 0, 64 * 1024, 0);
  }

  void send(int op, int srcPort, int dstPort) {
    send(header(op, srcPort, dstPort, 0), new byte[0]);
  }

  void sendData(int srcPort, int dstPort, byte[] data) {
    send(header(PacketHeader.OP_RW, srcPort, dstPort, data.length), data);
  }

  /** Sends one packet: header descriptor, plus a payload descriptor when there are bytes. */
  void send(PacketHeader h, byte[] payload) {
    if (payload.length > TX_PAYLOAD_SLOT) {
      throw new IllegalArgumentException("payload larger than the test TX slot");
    }
    tx.memory().write(txHeader.address(), h.encode());
    tx.memory().write(txPayload.address(), payload);
    int before = tx.usedIdx();
    if (payload.length == 0) {
      tx.add(List.of(txHeader));
    } else {
      tx.add(List.of(txHeader,
          new DriverQueue.Buffer(txPayload.address(), payload.length, false)));
    }
    driver.kick(VsockMuxer.TX_QUEUE);
    long end = System.nanoTime() + WAIT.toNanos();
    while (tx.usedIdx() == before) {
      if (System.nanoTime() > end) {
        throw new AssertionError("device did not consume the TX packet");
      }
      Thread.onSpinWait();
    }
    tx.takeUsed();
  }

  /** The next packet the device put on the RX queue. */
  Packet receive() {
    return poll(WAIT).orElseThrow(() -> new AssertionError("no RX packet within " + WAIT));
  }

  Optional<Packet> poll(Duration wait) {
    long end = System.nanoTime() + wait.toNanos();
    while (received.isEmpty()) {
      for (DriverQueue.Used u : rx.takeUsed()) {
        DriverQueue.Buffer b = rxPosted.remove(u.head());
        PacketHeader h = PacketHeader.decode(rx.read(b.address(), PacketHeader.BYTES));
        if (u.length() != PacketHeader.BYTES + h.len()) {
          throw new AssertionError("used length " + u.length() + " for " + h);
        }
        received.add(new Packet(h, rx.read(b.address() + PacketHeader.BYTES, h.len())));
        if (recycle) {
          rxPosted.put(rx.add(List.of(b)), b);
          driver.kick(VsockMuxer.RX_QUEUE);
        }
      }
      if (!received.isEmpty()) {
        break;
      }
      if (System.nanoTime() > end) {
        return Optional.empty();
      }
      sleep();
    }
    return Optional.of(received.poll());
  }

  static void sleep() {
    try {
      Thread.sleep(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  VsockMuxer.Stats stats() {
    return device.stats();
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      driver.close();
      device.close();
    }
  }
}

package run.cocoon.vmm.virtio.vsock;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.Stream;
import run.cocoon.vmm.virtio.Virtio;

/**
 * Arbitrary guest TX packets against a live device with host listeners, while one control
 * connection is open. Invariants: nothing escapes or breaks the worker, the device never asks for
 * a reset, connection count and held bytes stay within their limits, every packet is consumed
 * within the wait (no hang), and the control connection still carries data both ways.
 *
 * <p>Input format, repeated: an action byte, then its operands.
 * <ul>
 *   <li>action % 4 in {0, 1}: a packet: 44 header bytes, a little-endian u16 payload length, the
 *       payload. Bits 0x10/0x20/0x40/0x80 of the action force a valid source CID, the host as
 *       destination, the stream type, and a len field equal to the payload length, so the
 *       fuzzer reaches the connection logic behind the header checks;
 *   <li>2: post (next byte % 8 + 1) RX buffers;
 *   <li>3: read what the device put on the RX queue.
 * </ul>
 * In the normal suite this runs the seeds in {@code VsockFuzzTestInputs/txPackets}; to fuzz,
 * {@code JAZZER_FUZZ=1 mvn -pl vmm-core -am test -Dtest=VsockFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false} (bounded by {@code maxDuration}).
 */
class VsockFuzzTest {
  static final int CONTROL_GUEST_PORT = 40000;
  static final int LISTENING_PORT = 5000;
  static final int MAX_ACTIONS = 64;
  /**
   * Every input builds a fresh device, whose rate-limited warnings would start afresh each time:
   * silenced here so the fuzzer spends its time on inputs. Held so the setting is not collected.
   */
  private static final java.util.logging.Logger DEVICE_WARNINGS = quiet("cocoon.vmm.virtio");

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(java.util.logging.Level.OFF);
    return logger;
  }

  @FuzzTest(maxDuration = "60s")
  void txPackets(byte[] input) throws IOException {
    Path dir = Files.createTempDirectory("vsock-fuzz");
    try {
      run(dir, input);
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void run(Path dir, byte[] input) throws IOException {
    try (GuestSide guest = new GuestSide(dir);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      listener.bind(UnixDomainSocketAddress.of(Path.of(guest.uds + "_" + LISTENING_PORT)), 1024);
      guest.postRx(8);
      guest.send(PacketHeader.OP_REQUEST, CONTROL_GUEST_PORT, LISTENING_PORT);
      assertEquals(PacketHeader.OP_RESPONSE, guest.receive().op());
      try (SocketChannel control = listener.accept()) {
        ByteBuffer in = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < MAX_ACTIONS && in.hasRemaining(); i++) {
          act(guest, in);
        }
        checkInvariants(guest);
        checkControl(guest, control);
      }
    }
  }

  private static void act(GuestSide guest, ByteBuffer in) {
    int action = Byte.toUnsignedInt(in.get());
    switch (action % 4) {
      case 0, 1 -> {
        byte[] header = take(in, PacketHeader.BYTES);
        int length = in.remaining() >= 2 ? Short.toUnsignedInt(in.getShort()) : 0;
        byte[] payload = take(in, Math.min(length, in.remaining()));
        PacketHeader h = PacketHeader.decode(header);
        h = new PacketHeader(
            (action & 0x10) != 0 ? GuestSide.CID : h.srcCid(),
            (action & 0x20) != 0 ? PacketHeader.HOST_CID : h.dstCid(),
            h.srcPort(), h.dstPort(),
            (action & 0x80) != 0 ? payload.length : h.len(),
            (action & 0x40) != 0 ? PacketHeader.TYPE_STREAM : h.type(),
            h.op(), h.flags(), h.bufAlloc(), h.fwdCnt());
        if (h.srcPort() == CONTROL_GUEST_PORT && h.dstPort() == LISTENING_PORT) {
          // The control connection is the witness; packets naming it may legitimately end it.
          h = new PacketHeader(h.srcCid(), h.dstCid(), h.srcPort() + 1, h.dstPort(), h.len(),
              h.type(), h.op(), h.flags(), h.bufAlloc(), h.fwdCnt());
        }
        guest.send(h, payload);
      }
      case 2 -> guest.postRx(in.hasRemaining() ? Byte.toUnsignedInt(in.get()) % 8 + 1 : 1);
      default -> {
        while (guest.poll(Duration.ZERO).isPresent()) {
          // drained
        }
      }
    }
  }

  private static byte[] take(ByteBuffer in, int n) {
    byte[] out = new byte[n];
    in.get(out, 0, Math.min(n, in.remaining()));
    return out;
  }

  private static void checkInvariants(GuestSide guest) {
    VsockMuxer.Stats stats = guest.stats();
    assertEquals(0, stats.failures(), "worker failures");
    assertEquals(0, guest.driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET, "needs reset");
    assertTrue(stats.connections() + stats.handshakes() <= VirtioVsock.MAX_CONNECTIONS);
    assertTrue(stats.bufferedBytes()
        <= (long) stats.connections() * VirtioVsock.CONNECTION_BUFFER_BYTES, stats.toString());
    assertTrue(stats.queuedResets() <= VirtioVsock.MAX_QUEUED_RESETS);
  }

  /** The control connection carries a message each way, whatever happened around it. */
  private static void checkControl(GuestSide guest, SocketChannel control) throws IOException {
    guest.sendData(CONTROL_GUEST_PORT, LISTENING_PORT, "ping".getBytes(StandardCharsets.US_ASCII));
    ByteBuffer got = ByteBuffer.allocate(4);
    while (got.hasRemaining()) {
      assertTrue(control.read(got) >= 0, "control connection closed");
    }
    assertEquals("ping", new String(got.array(), StandardCharsets.US_ASCII));

    guest.postRx(8);
    control.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
    while (true) {
      GuestSide.Packet p = guest.receive();
      if (p.header().dstPort() == CONTROL_GUEST_PORT && p.op() == PacketHeader.OP_RW) {
        assertTrue(Arrays.equals("pong".getBytes(StandardCharsets.US_ASCII), p.payload()));
        return;
      }
    }
  }
}

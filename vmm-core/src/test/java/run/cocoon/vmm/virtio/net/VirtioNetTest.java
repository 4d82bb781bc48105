package run.cocoon.vmm.virtio.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import run.cocoon.kvm.Tap;
import run.cocoon.vmm.virtio.MmioTransport;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.testing.DriverQueue;

/** virtio-net against a socket pair standing in for the TAP: framing, bounds, hostile requests, flow. */
class VirtioNetTest {
  static final long BASIC = Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(VirtioNet.F_MAC);
  static final Duration WAIT = Duration.ofSeconds(5);
  static final Duration BRIEF = Duration.ofMillis(200);

  private final SocketPairPort port = new SocketPairPort();
  private final VirtioNet device =
      new VirtioNet("net-test", port, MacAddress.parse("52:54:00:12:34:56"));
  private final List<GuestNic> nics = new ArrayList<>();

  @AfterEach
  void close() {
    nics.forEach(GuestNic::close);
    device.close();
  }

  private GuestNic nic(long features, int queueSize) {
    GuestNic nic = new GuestNic(device, features, queueSize);
    nics.add(nic);
    return nic;
  }

  private GuestNic nicWithAll(int queueSize) {
    return nic(VirtioNet.FEATURES | Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(Virtio.F_EVENT_IDX)
        | Virtio.bit(Virtio.F_INDIRECT_DESC), queueSize);
  }

  static byte[] frame(int length, int seed) {
    byte[] f = new byte[length];
    for (int i = VirtioNet.HEADER_BYTES; i < length; i++) {
      f[i] = (byte) (seed + i * 7);
    }
    return f;
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting: " + what);
      }
      Thread.sleep(2);
    }
  }

  @Test
  void offersItsFeaturesAndMac() {
    GuestNic nic = nic(BASIC, 16);
    assertEquals(Virtio.ID_NET, nic.driver.readRegister(MmioTransport.REG_DEVICE_ID));
    long offered = nic.driver.deviceFeatures();
    assertEquals(VirtioNet.FEATURES, offered & VirtioNet.FEATURES);
    assertEquals(0, offered & Virtio.bit(17), "no control queue");
    int[] expected = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], nic.driver.config(i, 1));
    }
    assertEquals(0x12005452L, nic.driver.config(0, 4));
    assertEquals(0, nic.driver.config(6, 1), "nothing past the MAC");
  }

  @Test
  void macAddresses() {
    for (int i = 0; i < 100; i++) {
      MacAddress m = MacAddress.random();
      assertTrue(m.locallyAdministered(), m.toString());
      assertEquals(0, m.octet(0) & 1, m.toString());
      assertEquals(m, MacAddress.parse(m.toString()));
    }
    assertEquals("52:54:00:ab:cd:ef", MacAddress.parse("52:54:00:AB:CD:EF").toString());
    for (String bad : List.of("", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52-54-00-ab-cd-ef",
        "5:54:00:ab:cd:eff", "zz:54:00:ab:cd:ef", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",
        "00:00:00:00:00:00", "+1:54:00:ab:cd:ef")) {
      assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(bad), bad);
    }
  }

  @Test
  void tapOffloadsFollowWhatTheDriverAccepted() {
    nicWithAll(16).driver.setStatus(0);
    assertEquals(Tap.TUN_F_CSUM | Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6 | Tap.TUN_F_UFO,
        port.offloads.getLast());
    nic(BASIC | Virtio.bit(VirtioNet.F_GUEST_CSUM) | Virtio.bit(VirtioNet.F_HOST_TSO4), 16)
        .driver.setStatus(0);
    assertEquals(Tap.TUN_F_CSUM, port.offloads.getLast());
    // GUEST_TSO4 needs GUEST_CSUM (virtio 1.2, 5.1.3.1): the TAP is not asked for it alone.
    nic(BASIC | Virtio.bit(VirtioNet.F_GUEST_TSO4), 16);
    assertEquals(0, port.offloads.getLast());
  }

  @Test
  void transmitsFramesWholeAndInOrder() {
    GuestNic nic = nic(BASIC, 16);
    for (int i = 0; i < 3; i++) {
      assertEquals(0, nic.send(frame(100 + i, i)).length());
    }
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(frame(100 + i, i), port.take());
    }
    assertNull(port.take());
    // Any split into descriptors gathers into one frame; the largest frame passes.
    byte[] big = frame(VirtioNet.MAX_FRAME_BYTES, 9);
    List<DriverQueue.Buffer> chain = new ArrayList<>();
    for (int at = 0; at < big.length; at += 20_000) {
      chain.add(nic.tx.readable(Arrays.copyOfRange(big, at, Math.min(big.length, at + 20_000))));
    }
    nic.sendChain(chain);
    assertArrayEquals(big, port.take());
    assertEquals(new VirtioNet.Stats(4, 0, 0, 0), device.stats());
  }

  @Test
  void hostileTransmitRequestsAreDroppedWithoutWriting() {
    GuestNic nic = nic(BASIC, 16);
    // A device-writable buffer in a transmit request.
    assertEquals(0, nic.sendChain(List.of(nic.tx.readable(frame(60, 1)), nic.tx.writable(64)))
        .length());
    // Only a writable buffer.
    nic.sendChain(List.of(nic.tx.writable(64)));
    // Shorter than the header.
    nic.sendChain(List.of(nic.tx.readable(new byte[VirtioNet.HEADER_BYTES - 1])));
    // Longer than the largest frame.
    nic.send(frame(VirtioNet.MAX_FRAME_BYTES + 1, 2));
    assertNull(port.take(), "nothing reached the host");
    assertEquals(new VirtioNet.Stats(0, 4, 0, 0), device.stats());
    // The queue still works.
    nic.send(frame(60, 3));
    assertArrayEquals(frame(60, 3), port.take());
  }

  @Test
  void receivesWholeFramesIntoOneChain() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    nic.post(2, 1600);
    byte[] sent = frame(1514 + VirtioNet.HEADER_BYTES, 5);
    sent[0] = 2; // DATA_VALID from the host: not for a driver without GUEST_CSUM
    assertTrue(port.inject(sent));
    byte[] got = nic.receive(WAIT);
    assertNotNull(got);
    assertEquals(0, got[0], "flags cleared without GUEST_CSUM");
    assertEquals(1, Frames.u16le(got, 10), "num_buffers");
    assertArrayEquals(Frames.payloadOf(sent), Frames.payloadOf(got));
    assertEquals(new VirtioNet.Stats(0, 0, 1, 0), device.stats());
  }

  @Test
  void checksumFlagsReachADriverThatAskedForThem() throws Exception {
    GuestNic nic = nic(BASIC | Virtio.bit(VirtioNet.F_GUEST_CSUM), 16);
    nic.post(1, 1600);
    byte[] sent = frame(200, 6);
    sent[0] = 2;
    assertTrue(port.inject(sent));
    assertEquals(2, nic.receive(WAIT)[0]);
  }

  @Test
  void aFrameLargerThanTheBufferIsDroppedNotCut() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    DriverQueue.Buffer small = nic.rx.writable(100);
    nic.post(List.of(small));
    assertTrue(port.inject(frame(200, 7)));
    await(() -> device.stats().rxDropped() == 1, "the frame is dropped");
    assertTrue(nic.rx.takeUsed().isEmpty(), "the small buffer was not used");
    assertArrayEquals(new byte[100], nic.rx.read(small.address(), 100), "and not written");
    assertTrue(port.inject(frame(80, 8)));
    byte[] got = nic.receive(WAIT);
    assertArrayEquals(Frames.payloadOf(frame(80, 8)), Frames.payloadOf(got), "it takes the next frame");
  }

  @Test
  void mergeableBuffersCarryAFrameAcrossChains() throws Exception {
    GuestNic nic = nicWithAll(16);
    nic.post(8, 256);
    byte[] sent = frame(1000, 9);
    assertTrue(port.inject(sent));
    byte[] got = nic.receive(WAIT);
    assertEquals(4, Frames.u16le(got, 10), "num_buffers");
    assertArrayEquals(Frames.payloadOf(sent), Frames.payloadOf(got));
    assertTrue(port.inject(frame(100, 10)));
    assertArrayEquals(Frames.payloadOf(frame(100, 10)), Frames.payloadOf(nic.receive(WAIT)));
  }

  @Test
  void aMergeableFrameWaitsForBuffersAndIsDroppedOnlyWhenTheRingCannotHoldIt() throws Exception {
    GuestNic nic = nicWithAll(4);
    nic.post(1, 64);
    assertTrue(port.inject(frame(200, 11)));
    Thread.sleep(BRIEF.toMillis());
    assertEquals(0, device.stats().rxDropped(), "one 64-byte buffer: the frame waits");
    nic.post(2, 64);
    Thread.sleep(BRIEF.toMillis());
    assertEquals(0, device.stats().rxDropped(), "three: still waiting");
    nic.post(1, 64);
    await(() -> device.stats().rxFrames() == 1, "four buffers hold 256 bytes: delivered");
    assertArrayEquals(Frames.payloadOf(frame(200, 11)), Frames.payloadOf(nic.receive(WAIT)));
    // 4 x 64 bytes is the whole ring: a 300-byte frame can never fit.
    assertTrue(port.inject(frame(300, 12)));
    await(() -> device.stats().rxDropped() == 1, "the frame is dropped");
    assertTrue(port.inject(frame(60, 13)));
    assertArrayEquals(Frames.payloadOf(frame(60, 13)), Frames.payloadOf(nic.receive(WAIT)));
  }

  @Test
  void badReceiveChainsFailAndTheFrameTakesTheNextOne() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    assertTrue(port.inject(frame(100, 14)));
    int readable = nic.rx.add(List.of(nic.rx.readable(new byte[2048])));
    int mixed = nic.rx.add(List.of(nic.rx.writable(1024), nic.rx.readable(new byte[16])));
    int tiny = nic.rx.add(List.of(nic.rx.writable(VirtioNet.HEADER_BYTES - 1)));
    nic.driver.kick(VirtioNet.RX_QUEUE);
    await(() -> nic.rx.usedIdx() == 3, "three chains refused");
    assertEquals(List.of(new DriverQueue.Used(readable, 0), new DriverQueue.Used(mixed, 0),
        new DriverQueue.Used(tiny, 0)), nic.rx.takeUsed());
    nic.post(1, 2048);
    assertArrayEquals(Frames.payloadOf(frame(100, 14)), Frames.payloadOf(nic.receive(WAIT)));
  }

  @Test
  void framesShorterThanTheHeaderFromTheHostAreDropped() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    nic.post(1, 2048);
    assertTrue(port.inject(new byte[5]));
    assertTrue(port.inject(frame(70, 15)));
    assertArrayEquals(Frames.payloadOf(frame(70, 15)), Frames.payloadOf(nic.receive(WAIT)));
    assertEquals(1, device.stats().rxDropped());
  }

  @Test
  void withoutReceiveBuffersNothingIsRead() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    for (int i = 0; i < 5; i++) {
      assertTrue(port.inject(frame(100 + i, i)));
    }
    nic.driver.kick(VirtioNet.RX_QUEUE);
    Thread.sleep(BRIEF.toMillis());
    assertTrue(port.deviceHasUnread(), "the frames wait on the host side");
    assertEquals(new VirtioNet.Stats(0, 0, 0, 0), device.stats());
    nic.post(5, 2048);
    for (int i = 0; i < 5; i++) {
      assertArrayEquals(Frames.payloadOf(frame(100 + i, i)), Frames.payloadOf(nic.receive(WAIT)));
    }
    assertEquals(new VirtioNet.Stats(0, 0, 5, 0), device.stats());
  }

  /** Chains of a distinct 100-byte head and a shared 30000-byte body: the send buffer fills fast. */
  private static List<byte[]> queueLargeFrames(GuestNic nic, int count) {
    byte[] body = new byte[30_000];
    Arrays.fill(body, (byte) 0x5a);
    DriverQueue.Buffer shared = nic.tx.readable(body);
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] head = frame(100, i);
      nic.tx.add(List.of(nic.tx.readable(head), shared));
      byte[] whole = Arrays.copyOf(head, head.length + body.length);
      System.arraycopy(body, 0, whole, head.length, body.length);
      frames.add(whole);
    }
    return frames;
  }

  @Test
  void aFullHostQueueHoldsTransmitBackInOrder() throws Exception {
    GuestNic nic = nic(BASIC, 64);
    int count = 25; // 750 KB: more than the socket's send buffer holds
    List<byte[]> frames = queueLargeFrames(nic, count);
    Thread kicker = Thread.ofPlatform().start(() -> nic.driver.kick(VirtioNet.TX_QUEUE));
    await(() -> device.stats().txFrames() > 0, "transmitting");
    Thread.sleep(BRIEF.toMillis());
    long stalled = device.stats().txFrames();
    assertTrue(stalled < count, stalled + " frames written before the queue filled");
    assertTrue(kicker.isAlive(), "the notifier thread waits, not the guest");
    for (int i = 0; i < count; i++) {
      byte[] got = null;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (got == null && System.nanoTime() < deadline) {
        got = port.take();
        if (got == null) {
          Thread.sleep(1);
        }
      }
      assertArrayEquals(frames.get(i), got, "frame " + i);
    }
    kicker.join(WAIT.toMillis());
    assertFalse(kicker.isAlive());
    assertEquals(count, nic.tx.takeUsed().size());
    assertEquals(new VirtioNet.Stats(count, 0, 0, 0), device.stats());
  }

  @Test
  void aResetReleasesATransmitWaitingForTheHost() throws Exception {
    GuestNic nic = nic(BASIC, 64);
    queueLargeFrames(nic, 25);
    Thread kicker = Thread.ofPlatform().start(() -> nic.driver.kick(VirtioNet.TX_QUEUE));
    await(() -> device.stats().txFrames() > 0, "transmitting");
    Thread.sleep(BRIEF.toMillis());
    assertTrue(kicker.isAlive());
    long start = System.nanoTime();
    nic.driver.setStatus(0);
    kicker.join(WAIT.toMillis());
    assertFalse(kicker.isAlive(), "the reset woke the waiting transmit");
    assertTrue(System.nanoTime() - start < WAIT.toNanos());
    assertEquals(0, nic.driver.status());
  }

  @Test
  void aBrokenReceiveRingStopsTheDevice() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    nic.rx.setAvailIdx(100);
    nic.driver.kick(VirtioNet.RX_QUEUE);
    await(() -> (nic.driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0
        && nic.driver.interrupts() > 0, "needs reset, with a configuration interrupt");
  }

  @Test
  void resetAndCloseStopTheReceiveThread() throws Exception {
    GuestNic nic = nic(BASIC, 16);
    assertTrue(receiveThreadAlive());
    nic.driver.setStatus(0);
    assertFalse(receiveThreadAlive());
    nic.driver.start(BASIC, 16);
    assertTrue(receiveThreadAlive());
    device.close();
    assertFalse(receiveThreadAlive());
    device.close(); // twice is fine
  }

  private static boolean receiveThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.getName().equals("net-test-rx") && t.isAlive());
  }
}

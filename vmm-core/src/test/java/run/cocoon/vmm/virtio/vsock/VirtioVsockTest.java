package run.cocoon.vmm.virtio.vsock;

import static org.junit.jupiter.api.Assertions.*;
import static run.cocoon.vmm.virtio.vsock.PacketHeader.*;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.vmm.virtio.Virtio;

class VirtioVsockTest {
  static final int GUEST_PORT = 1234;
  static final int HOST_PORT = 5000;

  @TempDir
  Path dir;
  GuestSide guest;
  final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    guest = new GuestSide(dir);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    guest.close();
  }

  // ---- host helpers

  SocketChannel hostConnect(String line) throws IOException {
    SocketChannel s = SocketChannel.open(UnixDomainSocketAddress.of(guest.uds));
    closeLater.add(s);
    write(s, line.getBytes(StandardCharsets.US_ASCII));
    return s;
  }

  ServerSocketChannel hostListen(int port) throws IOException {
    ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    s.bind(UnixDomainSocketAddress.of(Path.of(guest.uds + "_" + port)), 1024);
    closeLater.add(s);
    return s;
  }

  static void write(SocketChannel s, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(data);
    while (b.hasRemaining()) {
      s.write(b);
    }
  }

  static byte[] read(SocketChannel s, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (s.read(b) < 0) {
        throw new AssertionError("EOF after " + b.position() + " of " + n + " bytes");
      }
    }
    return b.array();
  }

  static String readLine(SocketChannel s) throws IOException {
    StringBuilder line = new StringBuilder();
    ByteBuffer one = ByteBuffer.allocate(1);
    while (true) {
      one.clear();
      if (s.read(one) < 0) {
        throw new AssertionError("EOF in line '" + line + "'");
      }
      if (one.get(0) == '\n') {
        return line.toString();
      }
      line.append((char) one.get(0));
    }
  }

  /** Asserts the host socket ends (EOF or reset) within the wait. */
  static void assertClosedByDevice(SocketChannel s) throws IOException {
    assertClosedWithin(s, Duration.ofSeconds(10));
  }

  /** Reads (and drops) until end of stream; fails when the wait passes first. */
  static void assertClosedWithin(SocketChannel s, Duration wait) throws IOException {
    long end = System.nanoTime() + wait.toNanos();
    ByteBuffer b = ByteBuffer.allocate(4096);
    s.configureBlocking(false);
    try (Selector selector = Selector.open()) {
      s.register(selector, SelectionKey.OP_READ);
      while (true) {
        long left = (end - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          throw new AssertionError("host socket still open after " + wait);
        }
        selector.select(left);
        selector.selectedKeys().clear();
        b.clear();
        if (s.read(b) < 0) {
          return;
        }
      }
    } catch (IOException e) {
      // ECONNRESET is a close too
    }
  }

  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Host program connects to guest port; guest accepts. Returns the host socket and host port. */
  record HostConn(SocketChannel socket, int hostPort) {}

  HostConn establishFromHost(int guestPort) throws IOException {
    SocketChannel s = hostConnect("CONNECT " + guestPort + "\n");
    GuestSide.Packet req = guest.receive();
    assertEquals(OP_REQUEST, req.op());
    assertEquals(guestPort, req.header().dstPort());
    guest.send(OP_RESPONSE, guestPort, req.header().srcPort());
    assertEquals("OK " + req.header().srcPort(), readLine(s));
    return new HostConn(s, req.header().srcPort());
  }

  /** Guest connects from guestPort to a host listener; returns the accepted host socket. */
  SocketChannel establishFromGuest(ServerSocketChannel listener, int guestPort, int hostPort)
      throws IOException {
    guest.send(OP_REQUEST, guestPort, hostPort);
    GuestSide.Packet resp = guest.receive();
    assertEquals(OP_RESPONSE, resp.op(), resp.header().toString());
    assertEquals(guestPort, resp.header().dstPort());
    SocketChannel s = listener.accept();
    closeLater.add(s);
    return s;
  }

  void awaitConnections(int n) {
    long end = System.nanoTime() + GuestSide.WAIT.toNanos();
    while (guest.stats().connections() != n) {
      if (System.nanoTime() > end) {
        fail("connections: " + guest.stats().connections() + ", expected " + n);
      }
      GuestSide.sleep();
    }
  }

  // ---- device basics

  @Test
  void offersThreeQueuesAndTheGuestCid() throws IOException {
    assertEquals(Virtio.ID_VSOCK, guest.device.deviceId());
    assertEquals(GuestSide.CID, guest.driver.config(0, 4));
    assertEquals(0, guest.driver.config(4, 4));
    try (VirtioVsock other = new VirtioVsock("v1", 0x1234_5678L, dir.resolve("b"))) {
      assertEquals(0x1234_5678L, other.readConfig(0, 4));
      assertEquals(0x5678, other.readConfig(0, 2));
      assertEquals(0x12, other.readConfig(3, 1));
      assertEquals(0, other.readConfig(4, 4));
    }
  }

  @Test
  void reservedCidsAreRejected() {
    for (long cid : new long[] {0, 1, 2, 0xffff_ffffL, 1L << 32, -1}) {
      assertThrows(IllegalArgumentException.class,
          () -> new VirtioVsock("v", cid, dir.resolve("c" + cid)), "cid " + cid);
    }
  }

  @Test
  void aStaleSocketIsReplacedButOtherFilesAndLiveSocketsAreNot() throws IOException {
    Path stale = dir.resolve("stale.sock");
    ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    old.bind(UnixDomainSocketAddress.of(stale));
    assertThrows(IOException.class, () -> new VirtioVsock("v", 3, stale), "live socket");
    old.close(); // the file stays: a dead VMM's leftover
    assertTrue(Files.exists(stale));
    new VirtioVsock("v", 3, stale).close();
    assertFalse(Files.exists(stale), "close removes our socket");

    Path regular = Files.writeString(dir.resolve("file"), "data");
    assertThrows(IOException.class, () -> new VirtioVsock("v", 3, regular));
    assertEquals("data", Files.readString(regular));
  }

  @Test
  void closeRemovesTheSocketFileAndLeavesNoThreads() throws IOException {
    guest.postRx(8);
    HostConn c = establishFromHost(GUEST_PORT);
    guest.close();
    assertFalse(Files.exists(guest.uds));
    assertClosedByDevice(c.socket());
    assertTrue(Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().equals("vsock0-worker")), "worker thread gone");
    guest.close(); // idempotent
  }

  // ---- host to guest

  @Test
  void hostConnectsToAGuestListenerAndDataFlowsBothWays() throws IOException {
    guest.postRx(8);
    HostConn c = establishFromHost(GUEST_PORT);
    assertTrue(Integer.compareUnsigned(c.hostPort(), VirtioVsock.LOCAL_PORT_FIRST) >= 0);

    write(c.socket(), "ping".getBytes(StandardCharsets.US_ASCII));
    GuestSide.Packet data = guest.receive();
    assertEquals(OP_RW, data.op());
    assertEquals(HOST_CID, data.header().srcCid());
    assertEquals(GuestSide.CID, data.header().dstCid());
    assertEquals(TYPE_STREAM, data.header().type());
    assertEquals(VirtioVsock.CONNECTION_BUFFER_BYTES, data.header().bufAlloc());
    assertEquals("ping", new String(data.payload(), StandardCharsets.US_ASCII));

    guest.sendData(GUEST_PORT, c.hostPort(), "pong".getBytes(StandardCharsets.US_ASCII));
    assertEquals("pong", new String(read(c.socket(), 4), StandardCharsets.US_ASCII));
  }

  @Test
  void bytesSentRightAfterTheConnectLineReachTheGuest() throws IOException {
    guest.postRx(8);
    SocketChannel s = hostConnect("connect " + GUEST_PORT + "\nearly");
    GuestSide.Packet req = guest.receive();
    guest.send(OP_RESPONSE, GUEST_PORT, req.header().srcPort());
    assertEquals("OK " + req.header().srcPort(), readLine(s));
    assertEquals("early", new String(guest.receive().payload(), StandardCharsets.US_ASCII));
  }

  @Test
  void aGuestWithoutAListenerResetsAndTheHostSocketCloses() throws IOException {
    guest.postRx(8);
    SocketChannel s = hostConnect("CONNECT 9\n");
    GuestSide.Packet req = guest.receive();
    guest.send(OP_RST, 9, req.header().srcPort());
    assertClosedByDevice(s);
    awaitConnections(0);
  }

  @Test
  void anUnansweredRequestTimesOut() throws IOException {
    guest.postRx(8);
    SocketChannel s = hostConnect("CONNECT 9\n");
    assertEquals(OP_REQUEST, guest.receive().op());
    assertClosedByDevice(s);
    assertEquals(OP_RST, guest.receive().op());
  }

  @Test
  void concurrentHostConnectionsGetDistinctPorts() throws IOException {
    guest.postRx(16);
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ports.add(establishFromHost(GUEST_PORT).hostPort());
    }
    assertEquals(5, ports.stream().distinct().count(), ports.toString());
  }

  @Test
  void badHandshakeLinesAreClosed() throws IOException {
    guest.postRx(8);
    for (String line : List.of("HELLO 5\n", "CONNECT\n", "CONNECT -1\n", "CONNECT 4294967296\n",
        "CONNECT 5 6\n", "CONNECT " + "9".repeat(40) + "\n", "x".repeat(100))) {
      SocketChannel s = hostConnect(line);
      assertClosedByDevice(s);
    }
    assertTrue(guest.poll(Duration.ofMillis(200)).isEmpty(), "no REQUEST for a bad line");
    assertEquals(0, guest.stats().handshakes());
  }

  @Test
  void aSilentHostProgramIsClosedAfterTheHandshakeTimeout() throws IOException {
    SocketChannel s = hostConnect("CONN");
    long start = System.nanoTime();
    assertClosedWithin(s, Duration.ofMillis(VirtioVsock.HANDSHAKE_TIMEOUT_MILLIS * 3));
    long waited = (System.nanoTime() - start) / 1_000_000;
    assertTrue(waited >= VirtioVsock.HANDSHAKE_TIMEOUT_MILLIS - 500, waited + " ms");
  }

  @Test
  void connectBeforeTheDriverIsReadyIsRefused() throws IOException {
    guest.driver.setStatus(0);
    SocketChannel s = hostConnect("CONNECT 5\n");
    assertClosedByDevice(s);
  }

  // ---- guest to host

  @Test
  void guestConnectsToAHostListenerAndDataFlowsBothWays() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    guest.sendData(40000, HOST_PORT, "hello".getBytes(StandardCharsets.US_ASCII));
    assertEquals("hello", new String(read(s, 5), StandardCharsets.US_ASCII));
    write(s, "world".getBytes(StandardCharsets.US_ASCII));
    GuestSide.Packet p = guest.receive();
    assertEquals(OP_RW, p.op());
    assertEquals(HOST_PORT, p.header().srcPort());
    assertEquals(40000, p.header().dstPort());
    assertEquals("world", new String(p.payload(), StandardCharsets.US_ASCII));
  }

  @Test
  void guestConnectToAMissingListenerIsReset() {
    guest.postRx(8);
    guest.send(OP_REQUEST, 40000, 7777);
    GuestSide.Packet p = guest.receive();
    assertEquals(OP_RST, p.op());
    assertEquals(7777, p.header().srcPort());
    assertEquals(40000, p.header().dstPort());
    assertEquals(0, guest.stats().connections());
  }

  @Test
  void packetsForUnknownConnectionsAreAnsweredWithReset() {
    guest.postRx(8);
    for (int op : new int[] {OP_RESPONSE, OP_SHUTDOWN, OP_CREDIT_UPDATE, OP_CREDIT_REQUEST}) {
      guest.send(op, 40000, 7777);
      assertEquals(OP_RST, guest.receive().op());
    }
    guest.sendData(40000, 7777, new byte[10]);
    assertEquals(OP_RST, guest.receive().op());
    guest.send(OP_RST, 40000, 7777);
    assertTrue(guest.poll(Duration.ofMillis(200)).isEmpty(), "an RST is never answered");
  }

  // ---- flow control

  @Test
  void hostToGuestDataStaysWithinTheGuestsCredit() throws IOException {
    guest.postRx(32);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    int guestAlloc = 10_000;
    guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
        OP_REQUEST, 0, guestAlloc, 0), new byte[0]);
    assertEquals(OP_RESPONSE, guest.receive().op());
    SocketChannel s = listener.accept();
    closeLater.add(s);
    write(s, bytes(30_000, 1));

    int got = 0;
    GuestSide.Packet p;
    while ((p = guest.receive()).op() == OP_RW) {
      got += p.payload().length;
    }
    assertEquals(guestAlloc, got, "exactly the credit, then a request for more");
    assertEquals(OP_CREDIT_REQUEST, p.op());
    assertTrue(guest.poll(Duration.ofMillis(200)).isEmpty(), "nothing beyond the credit");

    // The guest's application read 4000 bytes.
    guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
        OP_CREDIT_UPDATE, 0, guestAlloc, 4000), new byte[0]);
    got = 0;
    while ((p = guest.receive()).op() == OP_RW) {
      got += p.payload().length;
    }
    assertEquals(4000, got);
    assertEquals(OP_CREDIT_REQUEST, p.op());
  }

  @Test
  void weAdvertiseOurBufferAndForwardCountAndAnswerCreditRequests() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    guest.sendData(40000, HOST_PORT, bytes(3000, 2));
    read(s, 3000);
    guest.send(OP_CREDIT_REQUEST, 40000, HOST_PORT);
    GuestSide.Packet p = guest.receive();
    assertEquals(OP_CREDIT_UPDATE, p.op());
    assertEquals(VirtioVsock.CONNECTION_BUFFER_BYTES, p.header().bufAlloc());
    assertEquals(3000, p.header().fwdCnt());
  }

  @Test
  void aGuestSendingBeyondItsCreditIsResetWhileAnotherConnectionContinues() throws IOException {
    guest.postRx(2);
    guest.recycleRx(false); // no RX buffers after the handshakes: no credit update can reach it
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel a = establishFromGuest(listener, 40000, HOST_PORT);
    SocketChannel b = establishFromGuest(listener, 40001, HOST_PORT);

    byte[] chunk = bytes(VirtioVsock.MAX_PACKET_PAYLOAD, 3);
    for (int i = 0; i < VirtioVsock.CONNECTION_BUFFER_BYTES / chunk.length; i++) {
      guest.sendData(40000, HOST_PORT, chunk);
    }
    assertEquals(2, guest.stats().connections(), "exactly the credit is fine");
    guest.sendData(40000, HOST_PORT, new byte[1]);
    awaitConnections(1);
    assertClosedByDevice(a); // bytes we still held for it are dropped with it, as in Firecracker

    guest.sendData(40001, HOST_PORT, "still here".getBytes(StandardCharsets.US_ASCII));
    assertEquals("still here", new String(read(b, 10), StandardCharsets.US_ASCII));
    guest.recycleRx(true);
    guest.postRx(4);
    GuestSide.Packet rst = guest.receive();
    assertEquals(OP_RST, rst.op());
    assertEquals(40000, rst.header().dstPort());
  }

  @Test
  void aHostThatDoesNotReadStopsOnlyItsOwnConnectionAndMemoryStaysBounded() throws IOException {
    guest.postRx(16);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    establishFromGuest(listener, 40000, HOST_PORT); // never read
    SocketChannel b = establishFromGuest(listener, 40001, HOST_PORT);
    byte[] chunk = bytes(VirtioVsock.MAX_PACKET_PAYLOAD, 4);
    // A well-behaved guest: it sends while its credit lasts, then asks for more.
    int sent = 0;
    int fwd = 0;
    for (int round = 0; round < 200; round++) {
      if (sent + chunk.length - fwd <= VirtioVsock.CONNECTION_BUFFER_BYTES) {
        guest.sendData(40000, HOST_PORT, chunk);
        sent += chunk.length;
        continue;
      }
      guest.send(OP_CREDIT_REQUEST, 40000, HOST_PORT);
      int seen = fwd;
      for (GuestSide.Packet p = guest.receive(); p != null;
          p = guest.poll(Duration.ofMillis(50)).orElse(null)) {
        seen = Math.max(seen, p.header().fwdCnt());
      }
      if (seen == fwd) {
        break; // nothing more granted: the host program is not reading
      }
      fwd = seen;
    }
    VsockMuxer.Stats stats = guest.stats();
    assertEquals(2, stats.connections(), "the slow connection is throttled, not reset");
    assertTrue(stats.bufferedBytes() <= VirtioVsock.CONNECTION_BUFFER_BYTES, stats.toString());
    assertTrue(stats.bufferedBytes() > 0, "the host socket is full and we hold the rest");

    guest.sendData(40001, HOST_PORT, "flowing".getBytes(StandardCharsets.US_ASCII));
    assertEquals("flowing", new String(read(b, 7), StandardCharsets.US_ASCII));
  }

  @Test
  void aGuestWithoutRxBuffersStopsHostReads() throws IOException {
    guest.postRx(2);
    guest.recycleRx(false);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    s.configureBlocking(false);
    ByteBuffer data = ByteBuffer.wrap(bytes(8 << 20, 5));
    long stalledAt = -1;
    for (int i = 0; i < 2000 && data.hasRemaining(); i++) {
      if (s.write(data) == 0) {
        GuestSide.sleep();
        if (s.write(data) == 0) {
          stalledAt = data.position();
          break;
        }
      }
    }
    assertTrue(stalledAt > 0 && stalledAt < 8 << 20, "the host's writes stall at " + stalledAt);
    assertEquals(0, guest.stats().bufferedBytes());
  }

  // ---- hostile packets (#11)

  @Test
  void anOversizedOrTruncatedPacketResetsItsConnectionOnly() throws IOException {
    guest.postRx(16);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel a = establishFromGuest(listener, 40000, HOST_PORT);
    SocketChannel b = establishFromGuest(listener, 40001, HOST_PORT);
    SocketChannel c = establishFromGuest(listener, 40002, HOST_PORT);

    int over = VirtioVsock.MAX_PACKET_PAYLOAD + 1;
    guest.send(GuestSide.header(OP_RW, 40000, HOST_PORT, over), new byte[over]);
    assertEquals(OP_RST, guest.receive().op());
    assertClosedByDevice(a);

    guest.send(GuestSide.header(OP_RW, 40001, HOST_PORT, 100), new byte[10]);
    assertEquals(OP_RST, guest.receive().op());
    assertClosedByDevice(b);

    guest.sendData(40002, HOST_PORT, "ok".getBytes(StandardCharsets.US_ASCII));
    assertEquals("ok", new String(read(c, 2), StandardCharsets.US_ASCII));
    assertEquals(1, guest.stats().connections());
  }

  @Test
  void badCidsResetTheConnectionTheyNameOrAreDropped() throws IOException {
    guest.postRx(16);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel a = establishFromGuest(listener, 40000, HOST_PORT);
    SocketChannel b = establishFromGuest(listener, 40001, HOST_PORT);
    SocketChannel c = establishFromGuest(listener, 40002, HOST_PORT);

    guest.send(new PacketHeader(GuestSide.CID, 7, 40000, HOST_PORT, 0, TYPE_STREAM, OP_RW, 0,
        4096, 0), new byte[0]);
    assertEquals(OP_RST, guest.receive().op());
    assertClosedByDevice(a);
    guest.send(new PacketHeader(99, HOST_CID, 40001, HOST_PORT, 0, TYPE_STREAM, OP_RW, 0,
        4096, 0), new byte[0]);
    assertEquals(OP_RST, guest.receive().op());
    assertClosedByDevice(b);

    // No connection named: dropped without an answer.
    guest.send(new PacketHeader(99, HOST_CID, 1, 2, 0, TYPE_STREAM, OP_REQUEST, 0, 4096, 0),
        new byte[0]);
    guest.send(new PacketHeader(GuestSide.CID, 1, 1, 2, 0, TYPE_STREAM, OP_REQUEST, 0, 4096, 0),
        new byte[0]);
    assertTrue(guest.poll(Duration.ofMillis(200)).isEmpty());

    guest.sendData(40002, HOST_PORT, "ok".getBytes(StandardCharsets.US_ASCII));
    assertEquals("ok", new String(read(c, 2), StandardCharsets.US_ASCII));
  }

  @Test
  void otherMalformedFieldsAreResets() throws IOException {
    guest.postRx(16);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    int port = 40000;
    for (PacketHeader bad : List.of(
        new PacketHeader(GuestSide.CID, HOST_CID, port, HOST_PORT, 0, 2, OP_RW, 0, 4096, 0),
        new PacketHeader(GuestSide.CID, HOST_CID, port + 1, HOST_PORT, 0, TYPE_STREAM, 99, 0, 4096, 0),
        new PacketHeader(GuestSide.CID, HOST_CID, port + 2, HOST_PORT, 0, TYPE_STREAM, OP_SHUTDOWN,
            8, 4096, 0),
        new PacketHeader(GuestSide.CID, HOST_CID, port + 3, HOST_PORT, 4, TYPE_STREAM,
            OP_CREDIT_UPDATE, 0, 4096, 0))) {
      SocketChannel s = establishFromGuest(listener, bad.srcPort(), HOST_PORT);
      guest.send(bad, new byte[bad.len()]);
      GuestSide.Packet p = guest.receive();
      assertEquals(OP_RST, p.op(), bad.toString());
      assertEquals(bad.srcPort(), p.header().dstPort());
      assertClosedByDevice(s);
    }
    assertEquals(0, guest.stats().connections());
    assertEquals(0, guest.stats().failures());
  }

  @Test
  void aConnectionStormBeyondTheLimitIsReset() throws IOException {
    guest.postRx(GuestSide.QUEUE_SIZE);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    List<SocketChannel> accepted = new CopyOnWriteArrayList<>();
    Thread acceptor = Thread.ofVirtual().start(() -> {
      try {
        while (true) {
          accepted.add(listener.accept());
        }
      } catch (IOException e) {
        // listener closed at the end of the test
      }
    });
    int extra = 10;
    int responses = 0;
    int resets = 0;
    for (int i = 0; i < VirtioVsock.MAX_CONNECTIONS + extra; i++) {
      guest.send(OP_REQUEST, 20000 + i, HOST_PORT);
      for (GuestSide.Packet p; (p = guest.poll(Duration.ZERO).orElse(null)) != null; ) {
        if (p.op() == OP_RESPONSE) {
          responses++;
        } else if (p.op() == OP_RST) {
          resets++;
        }
      }
    }
    while (responses + resets < VirtioVsock.MAX_CONNECTIONS + extra) {
      int op = guest.receive().op();
      responses += op == OP_RESPONSE ? 1 : 0;
      resets += op == OP_RST ? 1 : 0;
    }
    assertEquals(VirtioVsock.MAX_CONNECTIONS, responses);
    assertEquals(extra, resets);

    // Ending one makes room for one more.
    guest.send(OP_RST, 20000, HOST_PORT);
    awaitConnections(VirtioVsock.MAX_CONNECTIONS - 1);
    guest.send(OP_REQUEST, 30000, HOST_PORT);
    assertEquals(OP_RESPONSE, guest.receive().op());
    listener.close();
    acceptor.interrupt();
    for (SocketChannel s : accepted) {
      s.close();
    }
  }

  // ---- shutdown and reset

  @Test
  void hostEndOfStreamShutsDownAndTheGuestsResetEndsIt() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    write(s, "last".getBytes(StandardCharsets.US_ASCII));
    s.close();
    assertEquals("last", new String(guest.receive().payload(), StandardCharsets.US_ASCII));
    GuestSide.Packet p = guest.receive();
    assertEquals(OP_SHUTDOWN, p.op());
    assertEquals(SHUTDOWN_RCV | SHUTDOWN_SEND, p.header().flags());
    guest.send(OP_RST, 40000, HOST_PORT);
    awaitConnections(0);
  }

  @Test
  void guestShutdownBothWaysIsAnsweredWithResetAndClosesTheHostSocket() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    guest.sendData(40000, HOST_PORT, "bye".getBytes(StandardCharsets.US_ASCII));
    guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
        OP_SHUTDOWN, SHUTDOWN_RCV | SHUTDOWN_SEND, 4096, 0), new byte[0]);
    assertEquals(OP_RST, guest.receive().op());
    assertEquals("bye", new String(read(s, 3), StandardCharsets.US_ASCII));
    assertClosedByDevice(s);
    awaitConnections(0);
  }

  @Test
  void aHalfShutdownKeepsTheOtherDirectionOpen() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
        OP_SHUTDOWN, SHUTDOWN_SEND, 4096, 0), new byte[0]);
    write(s, "more".getBytes(StandardCharsets.US_ASCII));
    assertEquals("more", new String(guest.receive().payload(), StandardCharsets.US_ASCII));
    guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
        OP_SHUTDOWN, SHUTDOWN_RCV, 4096, 4), new byte[0]);
    assertEquals(OP_RST, guest.receive().op());
    assertClosedByDevice(s);
  }

  @Test
  void deviceResetClosesEveryHostSocket() throws IOException {
    guest.postRx(8);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel fromGuest = establishFromGuest(listener, 40000, HOST_PORT);
    HostConn fromHost = establishFromHost(GUEST_PORT);
    SocketChannel handshaking = hostConnect("CONN");
    guest.driver.setStatus(0);
    assertClosedByDevice(fromGuest);
    assertClosedByDevice(fromHost.socket());
    assertClosedByDevice(handshaking);
    VsockMuxer.Stats stats = guest.stats();
    assertEquals(0, stats.connections());
    assertEquals(0, stats.handshakes());
    assertTrue(Files.exists(guest.uds), "the listener survives a reset");
  }

  @Test
  void moreDataThanOneBufferArrivesIntactBothWays() throws IOException {
    guest.postRx(GuestSide.QUEUE_SIZE);
    ServerSocketChannel listener = hostListen(HOST_PORT);
    SocketChannel s = establishFromGuest(listener, 40000, HOST_PORT);
    byte[] up = bytes(1 << 20, 6);
    Thread reader = Thread.ofVirtual().start(() -> {
      try {
        assertArrayEquals(up, read(s, up.length));
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
    int sent = 0;
    int fwd = 0;
    while (sent < up.length) {
      int n = Math.min(VirtioVsock.MAX_PACKET_PAYLOAD, up.length - sent);
      while (sent + n - fwd > VirtioVsock.CONNECTION_BUFFER_BYTES) {
        guest.send(OP_CREDIT_REQUEST, 40000, HOST_PORT);
        fwd = Math.max(fwd, guest.receive().header().fwdCnt());
      }
      guest.sendData(40000, HOST_PORT, Arrays.copyOfRange(up, sent, sent + n));
      sent += n;
    }
    try {
      reader.join(10_000);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    assertFalse(reader.isAlive());

    byte[] down = bytes(300_000, 7);
    Thread writer = Thread.ofVirtual().start(() -> {
      try {
        write(s, down);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
    byte[] got = new byte[down.length];
    int at = 0;
    while (at < down.length) {
      GuestSide.Packet p = guest.receive();
      if (p.op() == OP_CREDIT_UPDATE) {
        continue; // left over from the upload
      }
      if (p.op() == OP_CREDIT_REQUEST) {
        guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
            OP_CREDIT_UPDATE, 0, 64 * 1024, at), new byte[0]);
        continue;
      }
      assertEquals(OP_RW, p.op());
      System.arraycopy(p.payload(), 0, got, at, p.payload().length);
      at += p.payload().length;
      if (at % 16384 < p.payload().length) {
        guest.send(new PacketHeader(GuestSide.CID, HOST_CID, 40000, HOST_PORT, 0, TYPE_STREAM,
            OP_CREDIT_UPDATE, 0, 64 * 1024, at), new byte[0]);
      }
    }
    assertArrayEquals(down, got);
    try {
      writer.join(5000);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}

package run.cocoon.agent.server;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.client.Connector;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Envelope;
import run.cocoon.agent.protocol.Frames;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/**
 * The agent's protocol server and the host client over a real Unix socket. The backend here is a
 * scripted stand-in that records calls: these tests are about framing, dispatch, concurrency,
 * error replies and stdio attachment, not containers (those run for real in the container and VM
 * tests).
 */
class ProtocolServerTest {
  private static final long SILENCE_MILLIS = 3000;
  @TempDir Path dir;
  private ServerSocketChannel listener;
  private ProtocolServer server;
  private final ScriptedBackend backend = new ScriptedBackend();
  private final AtomicLong clock = new AtomicLong();
  private final CountDownLatch shutdown = new CountDownLatch(1);
  private Thread acceptor;

  /** Containers as a map of id to state; wait blocks until signalled. */
  static final class ScriptedBackend implements ContainerBackend {
    final Map<String, CountDownLatch> exits = new ConcurrentHashMap<>();
    final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public long create(Request.Create r) throws AgentFailure {
      if (exits.putIfAbsent(r.container(), new CountDownLatch(1)) != null) {
        throw new AgentFailure(Reply.Code.EXISTS, "container " + r.container() + " exists");
      }
      calls.add("create " + r.container());
      return 100 + exits.size();
    }

    private CountDownLatch find(String id) throws AgentFailure {
      CountDownLatch l = exits.get(id);
      if (l == null) {
        throw new AgentFailure(Reply.Code.NOT_FOUND, "no container " + id);
      }
      return l;
    }

    @Override
    public void start(String c) throws AgentFailure {
      find(c);
      calls.add("start " + c);
    }

    @Override
    public Reply.Exited waitFor(String c, String exec) throws AgentFailure, InterruptedException {
      find(c).await();
      return new Reply.Exited(143, 15, false);
    }

    @Override
    public void signal(String c, String exec, int signal, boolean all) throws AgentFailure {
      find(c).countDown();
      calls.add("signal " + c + " " + signal);
    }

    @Override
    public long exec(Request.Exec r) throws AgentFailure {
      find(r.container());
      return 7;
    }

    @Override
    public Reply.Statistics stats(String c) throws AgentFailure {
      find(c);
      return new Reply.Statistics(1, 2, 3, 4);
    }

    @Override
    public List<Reply.ContainerInfo> list() {
      return exits.keySet().stream().sorted().map(id -> new Reply.ContainerInfo(id, "running", 1)).toList();
    }

    @Override
    public void delete(String c, boolean force) throws AgentFailure {
      find(c);
      exits.remove(c);
    }

    @Override
    public void resize(String c, String e, int rows, int cols) throws AgentFailure {
      find(c);
    }

    @Override
    public void attach(String c, String exec, Request.Stream stream, StdioChannel channel)
        throws AgentFailure, IOException {
      find(c);
      channel.ready();
      if (stream == Request.Stream.STDOUT) {
        channel.output().write(("out of " + c + "\n").getBytes(StandardCharsets.UTF_8));
        channel.output().flush();
        channel.endOutput();
      } else if (stream == Request.Stream.STDIN) {
        byte[] all = channel.input().readAllBytes();
        calls.add("stdin " + new String(all, StandardCharsets.UTF_8));
      }
    }

    @Override
    public void stopAll() {
      calls.add("stopAll");
    }
  }

  private static Connection wrap(SocketChannel ch) {
    return UnixConnections.wrap(ch);
  }


  @org.junit.jupiter.api.BeforeAll
  static void warmUp() throws Exception {
    // Build every serialiser once, so the first-frame watchdog measures the protocol, not the JIT.
    new CodecWarmUp().run();
  }

  /** Encodes and decodes one of each message. */
  static final class CodecWarmUp {
    void run() throws Exception {
      for (var body : java.util.List.<run.cocoon.agent.protocol.Body>of(new Request.ListContainers(),
          new Reply.Ok(), new Reply.Exited(0, 0, false), new Reply.Containers(List.of()),
          new Request.Wait("w", null), new Request.Signal("w", null, 1, false))) {
        Codec.decode(Codec.encode(Envelope.of(1, body)));
      }
    }
  }

  @BeforeEach
  void start() throws IOException {
    Path socket = dir.resolve("agent.sock");
    listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(socket));
    server = new ProtocolServer(backend, shutdown::countDown, clock::set, null, SILENCE_MILLIS);
    acceptor = Thread.ofPlatform().daemon().start(() -> {
      try {
        while (true) {
          server.accept(wrap(listener.accept()));
        }
      } catch (IOException e) {
        // listener closed
      }
    });
  }

  @AfterEach
  void stop() throws IOException {
    listener.close();
    server.close();
  }

  private Connector connector() {
    return () -> {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(listener.getLocalAddress());
      return wrap(ch);
    };
  }

  @Test
  void aContainerLifecycleOverTheWire() throws Exception {
    try (AgentClient client = AgentClient.connect(connector())) {
      assertTrue(clock.get() > 0, "hello carried the host clock");
      long pid = client.create("c1", (com.fasterxml.jackson.databind.node.ObjectNode)
          Codec.json().readTree("{}"), new Request.Rootfs("/dev/vdb", true, true), null);
      assertEquals(101, pid);
      client.start("c1");
      // wait blocks on its own thread; a signal on the same connection still gets through.
      var waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return client.waitFor("c1", null);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      Thread.sleep(100);
      assertFalse(waiting.isDone());
      client.signal("c1", null, 15, false);
      assertEquals(new Reply.Exited(143, 15, false), waiting.get(10, TimeUnit.SECONDS));
      assertEquals(List.of(new Reply.ContainerInfo("c1", "running", 1)), client.list());
      AgentException e = assertThrows(AgentException.class, () -> client.start("nope"));
      assertEquals(Reply.Code.NOT_FOUND, e.code());
      AgentException exists = assertThrows(AgentException.class, () -> client.create("c1",
          Codec.json().createObjectNode(), new Request.Rootfs("/dev/vdb", true, true), null));
      assertEquals(Reply.Code.EXISTS, exists.code());
      client.delete("c1", false);
      client.shutdown();
      assertTrue(shutdown.await(5, TimeUnit.SECONDS));
      assertTrue(backend.calls.contains("stopAll"));
    }
  }

  @Test
  void stdioStreamsAreTheirOwnConnections() throws Exception {
    try (AgentClient client = AgentClient.connect(connector())) {
      client.create("c2", Codec.json().createObjectNode(), new Request.Rootfs("/dev/vdb", true, true), null);
      try (Connection out = client.attach("c2", null, Request.Stream.STDOUT)) {
        assertEquals("out of c2\n", new String(out.input().readAllBytes(), StandardCharsets.UTF_8));
      }
      try (Connection in = client.attach("c2", null, Request.Stream.STDIN)) {
        in.output().write("typed".getBytes(StandardCharsets.UTF_8));
        in.output().flush();
        in.shutdownOutput();
        assertEquals(-1, in.input().read(), "the agent closes after the stream ends");
      }
      assertTrue(backend.calls.contains("stdin typed"), backend.calls.toString());
      AgentException e = assertThrows(AgentException.class,
          () -> client.attach("absent", null, Request.Stream.STDOUT));
      assertEquals(Reply.Code.NOT_FOUND, e.code());
    }
  }

  private Envelope exchange(Connection c, byte[] frame) throws Exception {
    Frames.write(c.output(), frame);
    return Codec.decode(Frames.read(c.input()));
  }

  @Test
  void garbageGetsAnErrorReplyAndTheConnectionStaysUsable() throws Exception {
    try (Connection c = connector().open()) {
      Envelope e = exchange(c, "not json".getBytes());
      assertEquals(Reply.Code.PROTOCOL, ((Reply.Error) e.body()).code());
      e = exchange(c, "{\"v\":1,\"id\":9,\"body\":{\"type\":\"reformat\"}}".getBytes());
      assertEquals(9, e.id());
      assertTrue(((Reply.Error) e.body()).message().contains("reformat"));
      e = exchange(c, "{\"v\":1,\"id\":10,\"body\":{\"type\":\"start\",\"container\":\"../x\"}}".getBytes());
      assertEquals(Reply.Code.INVALID, ((Reply.Error) e.body()).code());
      e = exchange(c, Codec.encode(Envelope.of(11, new Reply.Ok())));
      assertEquals(Reply.Code.PROTOCOL, ((Reply.Error) e.body()).code(), "replies are not requests");
      e = exchange(c, Codec.encode(Envelope.of(12, new Request.ListContainers())));
      assertInstanceOf(Reply.Containers.class, e.body(), "still serving");
      e = exchange(c, Codec.encode(Envelope.of(13, new Request.Attach("a", null, Request.Stream.STDOUT))));
      assertEquals(Reply.Code.PROTOCOL, ((Reply.Error) e.body()).code(), "attach only as first frame");
    }
  }

  @Test
  void anOversizedFrameEndsOnlyThatConnection() throws Exception {
    try (Connection bad = connector().open(); AgentClient good = AgentClient.connect(connector())) {
      bad.output().write(new byte[] {0x7f, 0, 0, 0});
      bad.output().flush();
      Envelope e = Codec.decode(Frames.read(bad.input()));
      assertTrue(((Reply.Error) e.body()).message().contains("larger than"));
      assertEquals(-1, bad.input().read(), "the bad connection is closed");
      assertNotNull(good.list(), "others are served");
      try (Connection truncated = connector().open()) {
        truncated.output().write(new byte[] {0, 0, 0, 50, '{'});
        truncated.shutdownOutput();
        Frames.read(truncated.input()); // the error for the truncated frame
        assertEquals(-1, truncated.input().read());
      }
      assertNotNull(good.list());
    }
  }

  @Test
  void aStormOfBlockingRequestsHitsTheInFlightLimitWithoutStallingTheAgent() throws Exception {
    try (Connection c = connector().open()) {
      Frames.write(c.output(), Codec.encode(Envelope.of(1, new Request.Create("s",
          Codec.json().createObjectNode(), new Request.Rootfs("/dev/vdb", true, true), null))));
      Frames.read(c.input());
      int storm = ProtocolLimits.MAX_IN_FLIGHT_PER_CONNECTION + 5;
      for (int i = 0; i < storm; i++) {
        Frames.write(c.output(), Codec.encode(Envelope.of(100 + i, new Request.Wait("s", null))));
      }
      int limited = 0;
      for (int i = 0; i < 5; i++) {
        Envelope e = Codec.decode(Frames.read(c.input()));
        if (e.body() instanceof Reply.Error err && err.code() == Reply.Code.LIMIT) {
          limited++;
        }
      }
      assertEquals(5, limited);
      try (AgentClient other = AgentClient.connect(connector())) {
        other.signal("s", null, 15, false);
      }
      for (int i = 0; i < ProtocolLimits.MAX_IN_FLIGHT_PER_CONNECTION; i++) {
        assertInstanceOf(Reply.Exited.class, Codec.decode(Frames.read(c.input())).body());
      }
    }
  }

  @Test
  void aConnectionThatNeverSpeaksIsClosed() throws Exception {
    try (Connection silent = connector().open()) {
      long t0 = System.nanoTime();
      assertEquals(-1, silent.input().read(), "closed by the agent");
      long waited = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(waited >= SILENCE_MILLIS - 50 && waited < 10_000, "closed after " + waited + " ms");
    }
  }
}

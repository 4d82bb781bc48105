package run.cocoon.agent.server;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.function.LongConsumer;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Envelope;
import run.cocoon.agent.protocol.Frames;
import run.cocoon.agent.protocol.ProtocolException;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/**
 * Serves agent connections. The first frame decides what a connection is: {@code attach} makes
 * it a raw stdio stream of one process; anything else makes it a control connection, where each
 * request runs on its own thread (so a {@code wait} does not hold up the others) and
 * replies go back in completion order, tagged with the request id.
 *
 * <p>The host is untrusted: a frame that does not decode gets an error reply and the connection
 * goes on; an oversized or truncated frame ends that connection only; a full house of in-flight
 * requests or connections is refused with {@link Reply.Code#LIMIT}.
 */
public final class ProtocolServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ProtocolServer.class.getName());

  private final ContainerBackend backend;
  private final RequestHandler handler;
  // Platform threads, not virtual ones: stdio pumps and waits block in native reads (FFM
  // downcalls pin a virtual thread to its carrier), and a few of them would starve every other
  // request of carriers. Connections and in-flight requests are bounded, so is the thread count.
  private final ExecutorService threads = Executors.newThreadPerTaskExecutor(
      Thread.ofPlatform().daemon().name("agent-", 0).factory());
  private final Semaphore connections = new Semaphore(ProtocolLimits.MAX_CONNECTIONS);
  private final long firstFrameTimeoutMillis;
  private final java.util.concurrent.ScheduledExecutorService watchdog =
      Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
          .name("agent-first-frame-watchdog").unstarted(r));

  /**
   * @param onShutdown runs after a {@code shutdown} request stopped every container, before the
   *     reply is sent (it should schedule the power-off, not block)
   * @param setClock sets the guest clock to the host's time from {@code hello} (epoch millis)
   */
  public ProtocolServer(ContainerBackend backend, Runnable onShutdown, LongConsumer setClock) {
    this(backend, onShutdown, setClock, null, ProtocolLimits.FIRST_FRAME_TIMEOUT_MILLIS);
  }

  /** @param boot the guest's start-up phases for {@code hello}'s answer (null: not a guest) */
  public ProtocolServer(ContainerBackend backend, Runnable onShutdown, LongConsumer setClock,
      Reply.BootPhases boot) {
    this(backend, onShutdown, setClock, boot, ProtocolLimits.FIRST_FRAME_TIMEOUT_MILLIS);
  }

  ProtocolServer(ContainerBackend backend, Runnable onShutdown, LongConsumer setClock,
      Reply.BootPhases boot, long firstFrameTimeoutMillis) {
    this.backend = backend;
    this.handler = new RequestHandler(backend, onShutdown, setClock, boot);
    this.firstFrameTimeoutMillis = firstFrameTimeoutMillis;
  }

  /** Serves {@code connection} on its own thread and closes it when done. */
  public void accept(Connection connection) {
    if (!connections.tryAcquire()) {
      try (connection) {
        Frames.write(connection.output(), Codec.encode(Envelope.of(-1, new Reply.Error(
            Reply.Code.LIMIT, "the agent serves at most " + ProtocolLimits.MAX_CONNECTIONS
                + " connections"))));
      } catch (IOException e) {
        LOG.log(Level.DEBUG, "refusing a connection: " + e.getMessage());
      }
      return;
    }
    threads.execute(() -> {
      try (connection) {
        serve(connection);
      } catch (IOException e) {
        LOG.log(Level.DEBUG, "connection ended: " + e.getMessage());
      } finally {
        connections.release();
      }
    });
  }

  private void serve(Connection connection) throws IOException {
    Object writeLock = new Object();
    Semaphore inFlight = new Semaphore(ProtocolLimits.MAX_IN_FLIGHT_PER_CONNECTION);
    boolean first = true;
    // A peer that connects and says nothing would hold a connection slot forever.
    java.util.concurrent.atomic.AtomicBoolean spoke = new java.util.concurrent.atomic.AtomicBoolean();
    var silence = watchdog.schedule(() -> {
      if (!spoke.get()) {
        try {
          connection.close();
        } catch (IOException e) {
          // closing anyway
        }
      }
    }, firstFrameTimeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    while (true) {
      byte[] payload;
      try {
        payload = Frames.read(connection.input());
        if (spoke.compareAndSet(false, true)) {
          silence.cancel(false);
        }
      } catch (EOFException e) {
        return;
      } catch (ProtocolException e) {
        // Oversized or truncated: the stream cannot be resynchronised. Say why and hang up.
        send(connection, writeLock, -1, new Reply.Error(Reply.Code.PROTOCOL, e.getMessage()));
        return;
      }
      Envelope envelope;
      try {
        envelope = Codec.decode(payload);
      } catch (ProtocolException e) {
        Reply.Code code = e instanceof ProtocolException.Invalid ? Reply.Code.INVALID
            : Reply.Code.PROTOCOL;
        send(connection, writeLock, Codec.idOf(payload), new Reply.Error(code, e.getMessage()));
        continue;
      }
      if (!(envelope.body() instanceof Request request)) {
        send(connection, writeLock, envelope.id(), new Reply.Error(Reply.Code.PROTOCOL,
            "the host sends requests, not replies"));
        continue;
      }
      if (request instanceof Request.Attach attach) {
        if (!first) {
          send(connection, writeLock, envelope.id(), new Reply.Error(Reply.Code.PROTOCOL,
              "attach must be the first frame of its own connection"));
          continue;
        }
        serveStdio(connection, envelope.id(), attach);
        return;
      }
      first = false;
      if (!inFlight.tryAcquire()) {
        send(connection, writeLock, envelope.id(), new Reply.Error(Reply.Code.LIMIT,
            "at most " + ProtocolLimits.MAX_IN_FLIGHT_PER_CONNECTION + " requests in flight"));
        continue;
      }
      long id = envelope.id();
      threads.execute(() -> {
        try {
          send(connection, writeLock, id, handle(request));
        } catch (IOException e) {
          LOG.log(Level.DEBUG, "reply to " + id + " not delivered: " + e.getMessage());
        } finally {
          inFlight.release();
        }
      });
    }
  }

  private Reply handle(Request request) {
    try {
      return handler.handle(request);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Reply.Error(Reply.Code.FAILED, "the agent is stopping");
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "request failed", e);
      return new Reply.Error(Reply.Code.FAILED, "internal error: " + e);
    }
  }

  private void serveStdio(Connection connection, long id, Request.Attach attach)
      throws IOException {
    boolean[] acknowledged = {false};
    ContainerBackend.StdioChannel channel = new ContainerBackend.StdioChannel() {
      @Override
      public java.io.InputStream input() {
        return connection.input();
      }

      @Override
      public java.io.OutputStream output() {
        return connection.output();
      }

      @Override
      public void ready() throws IOException {
        // The ok goes first, so the host knows the raw bytes that follow are the stream.
        acknowledged[0] = true;
        send(connection, connection, id, new Reply.Ok());
      }

      @Override
      public void endOutput() {
        connection.shutdownOutput();
      }
    };
    try {
      backend.attach(attach.container(), attach.exec(), attach.stream(), channel);
    } catch (AgentFailure f) {
      if (!acknowledged[0]) {
        send(connection, connection, id, new Reply.Error(f.code(), f.getMessage()));
      }
    }
  }

  private static void send(Connection connection, Object lock, long id, Reply reply)
      throws IOException {
    byte[] frame = Codec.encode(Envelope.of(id, reply));
    synchronized (lock) {
      Frames.write(connection.output(), frame);
    }
  }

  @Override
  public void close() {
    watchdog.shutdownNow();
    threads.shutdownNow();
  }

}

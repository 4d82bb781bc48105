package run.cocoon.agent.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.EOFException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Envelope;
import run.cocoon.agent.protocol.Frames;
import run.cocoon.agent.protocol.ProtocolException;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/**
 * The host side of the agent protocol: one control connection with requests in flight matched to
 * replies by id, plus a fresh connection per attached stdio stream.
 */
public final class AgentClient implements AutoCloseable {
  /** How long a request other than {@code wait} may take. */
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  private final Connector connector;
  private final Connection control;
  private final Map<Long, CompletableFuture<Reply>> pending = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Thread reader;
  private volatile IOException broken;
  private Reply.Welcome welcome;

  private AgentClient(Connector connector, Connection control) {
    this.connector = connector;
    this.control = control;
    this.reader = Thread.ofPlatform().daemon().name("agent-replies").start(this::readReplies);
  }

  /** Connects and says hello (which also sets the guest clock from ours). */
  public static AgentClient connect(Connector connector) throws IOException, AgentException {
    // Serialisers are built on first use, which can take a while on a cold JVM; do it before
    // connecting, since the agent gives a new connection a bounded time to speak.
    Codec.encode(Envelope.of(0, new Request.Hello(ProtocolLimits.VERSION, 0)));
    Connection control = connector.open();
    AgentClient client = new AgentClient(connector, control);
    try {
      Reply r = client.call(new Request.Hello(ProtocolLimits.VERSION, System.currentTimeMillis()),
          REQUEST_TIMEOUT);
      if (!(r instanceof Reply.Welcome w)) {
        throw new IOException("the agent answered hello with " + r);
      }
      client.welcome = w;
    } catch (IOException | AgentException | RuntimeException e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** The agent's answer to this client's hello: its version and how its guest's start went. */
  public Reply.Welcome welcome() {
    return welcome;
  }

  private void readReplies() {
    try {
      while (true) {
        Envelope e = Codec.decode(Frames.read(control.input()));
        if (!(e.body() instanceof Reply reply)) {
          throw new IOException("the agent sent a request");
        }
        CompletableFuture<Reply> f = pending.remove(e.id());
        if (f != null) {
          f.complete(reply);
        } else if (reply instanceof Reply.Error err) {
          // Not tied to a request (a frame it could not read): everything pending is suspect.
          fail(new IOException("agent: " + err.message()));
          return;
        }
      }
    } catch (EOFException e) {
      fail(new IOException("the agent closed the connection"));
    } catch (IOException e) {
      fail(e);
    } catch (ProtocolException e) {
      fail(new IOException("agent protocol error: " + e.getMessage(), e));
    }
  }

  private void fail(IOException e) {
    broken = e;
    pending.values().forEach(f -> f.completeExceptionally(e));
    pending.clear();
  }

  private Reply call(Request request, Duration timeout) throws IOException, AgentException {
    if (broken != null) {
      throw new IOException(broken.getMessage(), broken);
    }
    long id = ids.incrementAndGet();
    CompletableFuture<Reply> f = new CompletableFuture<>();
    pending.put(id, f);
    byte[] frame = Codec.encode(Envelope.of(id, request));
    synchronized (control) {
      Frames.write(control.output(), frame);
    }
    Reply reply;
    try {
      reply = timeout == null ? f.get() : f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for the agent", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? new IOException(io.getMessage(), io)
          : new IOException(e.getCause());
    } catch (TimeoutException e) {
      pending.remove(id);
      throw new IOException("the agent did not answer " + request.getClass().getSimpleName()
          + " within " + timeout.toSeconds() + " s");
    }
    if (reply instanceof Reply.Error err) {
      throw new AgentException(err.code(), err.message());
    }
    return reply;
  }

  private <T extends Reply> T call(Request request, Class<T> type, Duration timeout)
      throws IOException, AgentException {
    Reply r = call(request, timeout);
    if (!type.isInstance(r)) {
      throw new IOException("the agent answered " + request.getClass().getSimpleName() + " with "
          + r.getClass().getSimpleName());
    }
    return type.cast(r);
  }

  /** Creates a container; returns its process's pid in the guest. */
  public long create(String container, ObjectNode spec, Request.Rootfs rootfs, Request.Stdio stdio)
      throws IOException, AgentException {
    return call(new Request.Create(container, spec, rootfs, stdio), Reply.Started.class,
        REQUEST_TIMEOUT).pid();
  }

  public void start(String container) throws IOException, AgentException {
    call(new Request.Start(container), Reply.Ok.class, REQUEST_TIMEOUT);
  }

  /** Blocks until the process ends (no timeout). */
  public Reply.Exited waitFor(String container, String exec) throws IOException, AgentException {
    return call(new Request.Wait(container, exec), Reply.Exited.class, null);
  }

  public void signal(String container, String exec, int signal, boolean all)
      throws IOException, AgentException {
    call(new Request.Signal(container, exec, signal, all), Reply.Ok.class, REQUEST_TIMEOUT);
  }

  public long exec(String container, String exec, ObjectNode process, Request.Stdio stdio)
      throws IOException, AgentException {
    return call(new Request.Exec(container, exec, process, stdio), Reply.Started.class,
        REQUEST_TIMEOUT).pid();
  }

  public Reply.Statistics stats(String container) throws IOException, AgentException {
    return call(new Request.Stats(container), Reply.Statistics.class, REQUEST_TIMEOUT);
  }

  public List<Reply.ContainerInfo> list() throws IOException, AgentException {
    return call(new Request.ListContainers(), Reply.Containers.class, REQUEST_TIMEOUT).containers();
  }

  public void delete(String container, boolean force) throws IOException, AgentException {
    call(new Request.Delete(container, force), Reply.Ok.class, REQUEST_TIMEOUT);
  }

  public void resize(String container, String exec, int rows, int columns)
      throws IOException, AgentException {
    call(new Request.Resize(container, exec, rows, columns), Reply.Ok.class, REQUEST_TIMEOUT);
  }

  /** Stops every container and powers the VM off. */
  public void shutdown() throws IOException, AgentException {
    call(new Request.Shutdown(), Reply.Ok.class, REQUEST_TIMEOUT);
  }

  /**
   * Opens a stdio connection for one stream of a process; once this returns, the connection
   * carries that stream's raw bytes.
   */
  public Connection attach(String container, String exec, Request.Stream stream)
      throws IOException, AgentException {
    Connection c = connector.open();
    try {
      Frames.write(c.output(), Codec.encode(Envelope.of(0, new Request.Attach(container, exec, stream))));
      Envelope e = Codec.decode(Frames.read(c.input()));
      if (e.body() instanceof Reply.Error err) {
        throw new AgentException(err.code(), err.message());
      }
      if (!(e.body() instanceof Reply.Ok)) {
        throw new IOException("the agent answered attach with " + e.body());
      }
      return c;
    } catch (ProtocolException e) {
      c.close();
      throw new IOException("agent protocol error: " + e.getMessage(), e);
    } catch (IOException | AgentException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  @Override
  public void close() {
    try {
      control.close();
    } catch (IOException e) {
      // closing anyway
    }
    fail(new IOException("client closed"));
  }
}

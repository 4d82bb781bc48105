package run.cocoon.vmm.virtio.vsock;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import run.cocoon.vmm.VirtioSpec;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.QueueException;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * virtio-vsock (virtio 1.2, 5.10) with Firecracker's hybrid vsock on the host side: guest
 * AF_VSOCK streams become host AF_UNIX streams.
 *
 * <ul>
 *   <li>Host to guest: a host program connects to the Unix socket at {@code udsPath} and writes
 *       {@code CONNECT <port>\n}; the guest's listener on that port accepts, we answer
 *       {@code OK <host port>\n}, and the socket then carries the stream. A guest that does not
 *       listen there resets the connection and we close the socket.
 *   <li>Guest to host: a guest connecting to CID 2, port P reaches whatever listens on the Unix
 *       socket {@code <udsPath>_<P>}; nothing listening there resets the guest's connection.
 * </ul>
 *
 * <p>The guest is untrusted: every header field of every packet is checked, credit is enforced
 * both ways, and a violation resets only the connection it names (#11 of the hostile-input list).
 * All bounds are the constants below. The queues are served and the host sockets driven by one
 * worker thread ({@link VsockMuxer}, which explains why); this class only hands it work.
 *
 * <p>The event queue is never used: a device reset closes every connection on the host side,
 * and the driver, being reset too, forgets its own.
 */
public final class VirtioVsock implements VirtioDevice, AutoCloseable {
  /** Queue size offered for the RX, TX and event queues. */
  public static final int QUEUE_SIZE = 256;
  /** Largest payload of one packet either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
  public static final int MAX_PACKET_PAYLOAD = 64 * 1024;
  /** The buf_alloc we advertise per connection: guest bytes we hold at most for a slow host. */
  public static final int CONNECTION_BUFFER_BYTES = 256 * 1024;
  /** We send a CREDIT_UPDATE once the guest believes less than this is free. */
  public static final int CREDIT_UPDATE_THRESHOLD = MAX_PACKET_PAYLOAD;
  /** Open connections plus host connections still in their CONNECT handshake. */
  public static final int MAX_CONNECTIONS = 256;
  /** RSTs waiting for RX buffers; more are dropped (the guest's connect then times out). */
  public static final int MAX_QUEUED_RESETS = 256;
  /** Longest {@code CONNECT <port>\n} line, newline included (Firecracker reads 32 bytes). */
  public static final int HANDSHAKE_LINE_MAX_BYTES = 32;
  /** Time a host program has to send its CONNECT line. */
  public static final long HANDSHAKE_TIMEOUT_MILLIS = 5_000;
  /** Time the guest has to answer our REQUEST, and we have to reach a host listener. */
  public static final long CONNECT_TIMEOUT_MILLIS = 5_000;
  /** Time a shutting-down connection has to finish before we reset it (Firecracker: 2 s). */
  public static final long SHUTDOWN_TIMEOUT_MILLIS = 2_000;
  /** Host ports for host-initiated connections come from [2^30, 2^31), as in Firecracker. */
  public static final int LOCAL_PORT_FIRST = 1 << 30;
  public static final int LOCAL_PORT_END = Integer.MAX_VALUE;
  /** How long reset() and close() wait for the worker. */
  static final long WORKER_WAIT_MILLIS = 5_000;

  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private final String name;
  private final long guestCid;
  private final Path udsPath;
  private final Object socketFileKey;
  private final VsockMuxer muxer;
  private final Thread worker;
  private boolean closed;

  /**
   * Listens on {@code udsPath} at once (host programs may connect before the guest's driver is
   * up; their CONNECT is refused until it is).
   *
   * @throws IllegalArgumentException for a reserved CID
   * @throws IOException when the socket cannot be created: the path exists and is not a socket,
   *     another process listens on it, or the path is too long for AF_UNIX
   */
  public VirtioVsock(String name, long guestCid, Path udsPath) throws IOException {
    if (guestCid < VirtioSpec.Vsock.MIN_GUEST_CID || guestCid > VirtioSpec.Vsock.MAX_GUEST_CID) {
      throw new IllegalArgumentException("guest CID " + Long.toUnsignedString(guestCid)
          + " must be between " + VirtioSpec.Vsock.MIN_GUEST_CID + " and "
          + VirtioSpec.Vsock.MAX_GUEST_CID);
    }
    this.name = Objects.requireNonNull(name);
    this.guestCid = guestCid;
    this.udsPath = udsPath.toAbsolutePath();
    ServerSocketChannel listener = listen(this.udsPath);
    try {
      this.socketFileKey = Files.readAttributes(this.udsPath, BasicFileAttributes.class,
          NOFOLLOW_LINKS).fileKey();
      this.muxer = new VsockMuxer(name, guestCid, this.udsPath, listener);
    } catch (IOException | RuntimeException e) {
      listener.close();
      Files.deleteIfExists(this.udsPath);
      throw e;
    }
    this.worker = Thread.ofPlatform().daemon().name(name + "-worker").start(muxer);
  }

  /**
   * Binds the host socket. A leftover socket file nobody listens on (a VMM that died) is
   * replaced; any other file, or a live socket, is an error rather than something we delete.
   */
  private static ServerSocketChannel listen(Path path) throws IOException {
    if (Files.exists(path, NOFOLLOW_LINKS)) {
      int mode = (Integer) Files.getAttribute(path, "unix:mode", NOFOLLOW_LINKS);
      if ((mode & S_IFMT) != S_IFSOCK) {
        throw new IOException(path + " exists and is not a socket");
      }
      if (listening(path)) {
        throw new IOException(path + " is in use: another process listens on it");
      }
      Files.delete(path);
    }
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      listener.bind(UnixDomainSocketAddress.of(path));
    } catch (IOException e) {
      listener.close();
      throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
    }
    return listener;
  }

  private static boolean listening(Path path) {
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.configureBlocking(false);
      probe.connect(UnixDomainSocketAddress.of(path));
      return true; // connected, or pending behind a full backlog: someone is there
    } catch (IOException e) {
      return false;
    }
  }

  public long guestCid() {
    return guestCid;
  }

  public Path udsPath() {
    return udsPath;
  }

  @Override
  public int deviceId() {
    return Virtio.ID_VSOCK;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long features() {
    return 0; // stream sockets only: no VIRTIO_VSOCK_F_SEQPACKET
  }

  @Override
  public int queueCount() {
    return 3;
  }

  @Override
  public int maxQueueSize() {
    return QUEUE_SIZE;
  }

  @Override
  public int configSize() {
    return 8;
  }

  /** guest_cid, a little-endian u64; the transport keeps reads inside it. */
  @Override
  public long readConfig(int offset, int size) {
    long mask = size == 8 ? -1L : (1L << (8 * size)) - 1;
    return (guestCid >>> (8 * offset)) & mask;
  }

  @Override
  public void activate(ActiveDevice active) throws QueueException.BadSetup {
    muxer.post(() -> muxer.activate(active));
  }

  @Override
  public void queueNotified(int index) {
    muxer.kick(index);
  }

  /** Waits until the worker has closed every connection and let go of the queues. */
  @Override
  public void reset() {
    call(() -> {
      muxer.reset();
      return null;
    });
  }

  /** Counters for tests; null once closed. */
  VsockMuxer.Stats stats() {
    return call(muxer::stats);
  }

  private <T> T call(java.util.concurrent.Callable<T> task) {
    if (!worker.isAlive()) {
      return null;
    }
    CompletableFuture<T> done = new CompletableFuture<>();
    muxer.post(() -> {
      try {
        done.complete(task.call());
      } catch (Exception e) {
        done.completeExceptionally(e);
      }
    });
    try {
      return done.get(WORKER_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException e) {
      if (!worker.isAlive()) {
        return null; // stopped meanwhile: nothing left to do
      }
      throw new IllegalStateException(name + ": vsock worker did not answer", e);
    }
  }

  /** Closes every host socket, stops the worker and removes the socket file we created. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    muxer.stop();
    try {
      worker.join(WORKER_WAIT_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      Object key = Files.readAttributes(udsPath, BasicFileAttributes.class, NOFOLLOW_LINKS).fileKey();
      if (Objects.equals(key, socketFileKey)) {
        Files.delete(udsPath);
      }
    } catch (IOException e) {
      // Already gone, or replaced by someone else's socket: not ours to remove.
    }
  }
}

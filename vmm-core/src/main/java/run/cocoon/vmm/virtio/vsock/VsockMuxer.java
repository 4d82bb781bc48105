package run.cocoon.vmm.virtio.vsock;

import static run.cocoon.vmm.virtio.vsock.VirtioVsock.*;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import run.cocoon.vmm.devices.RateLimitedLog;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.GuestMemoryException;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.Descriptor;
import run.cocoon.vmm.virtio.DescriptorChain;
import run.cocoon.vmm.virtio.GuestBuffers;
import run.cocoon.vmm.virtio.QueueException;
import run.cocoon.vmm.virtio.QueueServer;
import run.cocoon.vmm.virtio.SplitQueue;

/**
 * The device's worker: one platform thread that owns every connection, the listening socket and
 * both data queues, driven by one {@link Selector}.
 *
 * <p>Why a selector and not a thread per connection: the protocol's state lives in three places
 * at once (the guest's rings, each connection's credit counters, each host socket), and every
 * event touches at least two of them. With one owner thread there are no locks, no cross-thread
 * buffers and no ordering questions; readiness interest is the back-pressure mechanism (a
 * connection whose guest has no credit or no RX buffers simply stops being watched for input, so
 * host data stays in the host socket and memory stays bounded). Queue kicks, activation and reset
 * reach the thread as commands plus {@link Selector#wakeup()}.
 *
 * <p>Data moves between host sockets and guest memory without a copy (scatter/gather I/O on
 * guest-memory slices); only guest bytes the host socket cannot take at once are copied, into
 * the connection's {@link TxBuffer}, which the credit we grant bounds.
 */
final class VsockMuxer implements Runnable {
  private static final System.Logger LOG = System.getLogger(VsockMuxer.class.getName());

  static final int RX_QUEUE = 0;
  static final int TX_QUEUE = 1;
  static final int EVENT_QUEUE = 2;

  /** An RST owed to the guest for a connection that no longer (or never) existed. */
  private record Reset(int localPort, int peerPort) {}

  /** Counters for tests and diagnostics, taken on the worker thread. */
  record Stats(int connections, int handshakes, long bufferedBytes, int queuedResets,
      long failures) {}

  private final String name;
  private final long guestCid;
  private final Path udsPath;
  private final Selector selector;
  private final ServerSocketChannel listener;
  private final RateLimitedLog warnings;
  private final QueueServer txServer;
  private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
  private final AtomicInteger kicks = new AtomicInteger();
  private volatile boolean stopping;

  // Owned by the worker thread.
  private final Map<Long, VsockConnection> connections = new HashMap<>();
  private final Set<HostHandshake> handshakes = new HashSet<>();
  private final Set<Integer> localPorts = new HashSet<>();
  private int lastLocalPort = LOCAL_PORT_FIRST - 1;
  private final ArrayDeque<VsockConnection> rxSchedule = new ArrayDeque<>();
  private final ArrayDeque<Reset> resets = new ArrayDeque<>();
  private ActiveDevice active;
  /** An RX chain taken from the ring that nothing was ready to fill yet; used next. */
  private DescriptorChain heldRx;
  private long nextDeadline = Long.MAX_VALUE;
  private long failures;

  VsockMuxer(String name, long guestCid, Path udsPath, ServerSocketChannel listener)
      throws IOException {
    this.name = name;
    this.guestCid = guestCid;
    this.udsPath = udsPath;
    this.listener = listener;
    this.warnings = new RateLimitedLog("cocoon.vmm.virtio." + name);
    this.txServer = new QueueServer(name);
    this.selector = Selector.open();
    try {
      listener.configureBlocking(false);
      listener.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException e) {
      selector.close();
      throw e;
    }
  }

  // ---- entry points for other threads

  /** Runs {@code command} on the worker thread. */
  void post(Runnable command) {
    commands.add(command);
    selector.wakeup();
  }

  void kick(int queue) {
    kicks.getAndUpdate(bits -> bits | (1 << queue));
    selector.wakeup();
  }

  void stop() {
    stopping = true;
    selector.wakeup();
  }

  // ---- the worker loop

  @Override
  public void run() {
    try {
      while (!stopping) {
        long timeout = 0;
        if (nextDeadline != Long.MAX_VALUE) {
          timeout = Math.max(1, (nextDeadline - System.nanoTime()) / 1_000_000 + 1);
        }
        selector.select(timeout);
        if (stopping) {
          break;
        }
        try {
          step();
        } catch (RuntimeException e) {
          fail(e);
        }
      }
    } catch (IOException | ClosedSelectorException e) {
      if (!stopping) {
        LOG.log(Level.ERROR, name + ": vsock worker stopped", e);
      }
    } finally {
      closeEverything();
    }
  }

  private void step() {
    Runnable command;
    while ((command = commands.poll()) != null) {
      command.run();
    }
    Iterator<SelectionKey> it = selector.selectedKeys().iterator();
    while (it.hasNext()) {
      SelectionKey key = it.next();
      it.remove();
      if (key.isValid()) {
        dispatch(key);
      }
    }
    int kicked = kicks.getAndSet(0);
    if (active != null && (kicked & (1 << TX_QUEUE)) != 0) {
      if (!txServer.drain(active.queue(TX_QUEUE), active.signals(), this::serveTx)) {
        broken();
      }
    }
    expireDeadlines();
    fillRx();
  }

  /** A bug must not take the VMM down: drop every connection and ask the driver for a reset. */
  private void fail(RuntimeException e) {
    failures++;
    LOG.log(Level.ERROR, name + ": vsock device failed; connections dropped", e);
    ActiveDevice device = active;
    dropAll();
    active = null;
    if (device != null) {
      device.signals().needsReset("vsock internal error: " + e);
    }
  }

  /** The driver broke a ring: stop serving until it resets the device. */
  private void broken() {
    dropAll();
    active = null;
  }

  // ---- commands

  void activate(ActiveDevice device) {
    dropAll();
    active = device;
  }

  /** Device reset: every connection and pending handshake ends; the listener stays. */
  void reset() {
    dropAll();
    active = null;
  }

  Stats stats() {
    long buffered = 0;
    for (VsockConnection c : connections.values()) {
      buffered += c.txBuffer.size();
    }
    return new Stats(connections.size(), handshakes.size(), buffered, resets.size(), failures);
  }

  private void dropAll() {
    for (VsockConnection c : new ArrayList<>(connections.values())) {
      close(c, false);
    }
    for (HostHandshake h : new ArrayList<>(handshakes)) {
      closeHandshake(h);
    }
    rxSchedule.clear();
    resets.clear();
    heldRx = null;
  }

  private void closeEverything() {
    dropAll();
    closeQuietly(listener);
    try {
      selector.close();
    } catch (IOException e) {
      LOG.log(Level.WARNING, name + ": closing selector: " + e.getMessage());
    }
  }

  // ---- host socket events

  private void dispatch(SelectionKey key) {
    switch (key.attachment()) {
      case null -> acceptAll();
      case HostHandshake h -> continueHandshake(h);
      case VsockConnection c -> {
        if (key.isConnectable()) {
          finishConnect(c);
        } else {
          if (key.isWritable()) {
            flush(c);
          }
          if (c.state() != ConnectionState.CLOSED && key.isValid() && key.isReadable()) {
            c.set(VsockConnection.PENDING_READ);
          }
        }
        refresh(c);
      }
      default -> throw new IllegalStateException("unknown selection key attachment");
    }
  }

  private void acceptAll() {
    while (true) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (IOException e) {
        warnings.warn(name + ": accept on " + udsPath + ": " + e.getMessage());
        return;
      }
      if (channel == null) {
        return;
      }
      if (connections.size() + handshakes.size() >= MAX_CONNECTIONS) {
        warnings.warn(name + ": " + MAX_CONNECTIONS + " connections open; host connection refused");
        closeQuietly(channel);
        continue;
      }
      try {
        channel.configureBlocking(false);
        HostHandshake h = new HostHandshake(channel,
            System.nanoTime() + HANDSHAKE_TIMEOUT_MILLIS * 1_000_000, HANDSHAKE_LINE_MAX_BYTES);
        channel.register(selector, SelectionKey.OP_READ, h);
        handshakes.add(h);
        noteDeadline(h.deadline);
      } catch (IOException e) {
        closeQuietly(channel);
      }
    }
  }

  private void continueHandshake(HostHandshake h) {
    switch (h.read()) {
      case HostHandshake.Incomplete i -> { }
      case HostHandshake.Failed f -> {
        warnings.warn(name + ": host connection dropped: " + f.reason());
        closeHandshake(h);
      }
      case HostHandshake.Port p -> {
        handshakes.remove(h);
        if (active == null) {
          // Host programs connect early and retry while the guest boots: not worth a warning.
          LOG.log(Level.DEBUG, name + ": CONNECT " + Integer.toUnsignedString(p.port())
              + " while the guest driver is not ready; closed");
          closeQuietly(h.channel);
          return;
        }
        int localPort = allocateLocalPort(p.port());
        VsockConnection c = new VsockConnection(localPort, p.port(), h.channel, true,
            ConnectionState.HOST_CONNECTING, CONNECTION_BUFFER_BYTES);
        c.key = h.channel.keyFor(selector);
        c.key.attach(c);
        c.set(VsockConnection.PENDING_REQUEST);
        localPorts.add(localPort);
        connections.put(c.key(), c);
        setDeadline(c, CONNECT_TIMEOUT_MILLIS);
        refresh(c);
      }
    }
  }

  private void closeHandshake(HostHandshake h) {
    handshakes.remove(h);
    closeQuietly(h.channel);
  }

  /** Host ports for host-initiated connections: round robin over [2^30, 2^31), never in use. */
  private int allocateLocalPort(int peerPort) {
    while (true) {
      lastLocalPort = lastLocalPort + 1 >= LOCAL_PORT_END ? LOCAL_PORT_FIRST : lastLocalPort + 1;
      if (!localPorts.contains(lastLocalPort)
          && !connections.containsKey(VsockConnection.key(lastLocalPort, peerPort))) {
        return lastLocalPort;
      }
    }
  }

  private void finishConnect(VsockConnection c) {
    try {
      if (c.channel.finishConnect()) {
        c.connectPending = false;
        c.set(VsockConnection.PENDING_RESPONSE);
      }
    } catch (IOException e) {
      kill(c, "connecting to the host socket: " + e.getMessage());
    }
  }

  private void flush(VsockConnection c) {
    try {
      c.fwdCnt += (int) c.txBuffer.flushTo(c.channel);
    } catch (IOException e) {
      kill(c, "writing to the host socket: " + e.getMessage());
      return;
    }
    afterForward(c);
  }

  /** Bytes reached the host: finish a drained shutdown, or tell the guest it has room again. */
  private void afterForward(VsockConnection c) {
    if (c.state() == ConnectionState.SHUTTING_DOWN && c.guestWontReceive && c.guestWontSend
        && c.txBuffer.isEmpty()) {
      close(c, true);
    } else if (c.guestNeedsCreditUpdate(CONNECTION_BUFFER_BYTES, CREDIT_UPDATE_THRESHOLD)) {
      c.set(VsockConnection.PENDING_CREDIT_UPDATE);
    }
  }

  // ---- guest TX packets

  private long serveTx(DescriptorChain chain) {
    GuestMemory memory = active.memory();
    if (chain.readableBytes() < PacketHeader.BYTES) {
      warnings.warn(name + ": TX chain of " + chain.readableBytes() + " readable bytes has no header");
      return 0;
    }
    List<Descriptor> readable = chain.readable();
    PacketHeader h;
    try {
      h = PacketHeader.decode(GuestBuffers.read(memory, readable, 0, PacketHeader.BYTES));
    } catch (GuestMemoryException e) {
      warnings.warn(name + ": TX header: " + e.getMessage());
      return 0;
    }
    String malformed = validate(h, chain);
    VsockConnection c = connections.get(VsockConnection.key(h.dstPort(), h.srcPort()));
    if (malformed != null) {
      warnings.warn(name + ": bad TX packet (" + malformed + "): " + h);
      if (c != null) {
        kill(c, malformed);
      }
      return 0;
    }
    if (h.type() != PacketHeader.TYPE_STREAM) {
      // Only streams exist here; an RST makes the guest's connect fail at once.
      if (c != null) {
        kill(c, "socket type " + h.type());
      } else if (h.op() != PacketHeader.OP_RST) {
        queueReset(h.dstPort(), h.srcPort());
      }
      return 0;
    }
    if (c == null) {
      switch (h.op()) {
        case PacketHeader.OP_REQUEST -> guestConnect(h);
        case PacketHeader.OP_RST -> { }
        default -> queueReset(h.dstPort(), h.srcPort()); // the guest thinks a connection exists
      }
      return 0;
    }
    if (h.op() == PacketHeader.OP_RST) {
      close(c, false);
      return 0;
    }
    c.updatePeerCredit(h);
    switch (h.op()) {
      case PacketHeader.OP_RW -> receive(c, h, memory, readable);
      case PacketHeader.OP_RESPONSE -> {
        if (c.state() == ConnectionState.HOST_CONNECTING) {
          established(c);
        }
      }
      case PacketHeader.OP_SHUTDOWN -> guestShutdown(c, h.flags());
      case PacketHeader.OP_CREDIT_REQUEST -> {
        if (c.guestMaySend() || c.state() == ConnectionState.GUEST_CONNECTING) {
          c.set(VsockConnection.PENDING_CREDIT_UPDATE);
        }
      }
      default -> { } // CREDIT_UPDATE (credit already taken), a repeated REQUEST: nothing to do
    }
    refresh(c);
    return 0;
  }

  /** Every field the guest controls, checked; null when the packet is well-formed. */
  private String validate(PacketHeader h, DescriptorChain chain) {
    if (chain.writableBytes() > 0) {
      return "device-writable buffer in a TX packet";
    }
    if (h.dstCid() != PacketHeader.HOST_CID) {
      return "destination CID " + Long.toUnsignedString(h.dstCid()) + " is not the host";
    }
    if (h.srcCid() != guestCid) {
      return "source CID " + Long.toUnsignedString(h.srcCid()) + " is not the guest's";
    }
    if (h.length() > MAX_PACKET_PAYLOAD) {
      return "payload of " + h.length() + " bytes exceeds " + MAX_PACKET_PAYLOAD;
    }
    if (h.length() > chain.readableBytes() - PacketHeader.BYTES) {
      return "payload of " + h.length() + " bytes but the chain holds "
          + (chain.readableBytes() - PacketHeader.BYTES);
    }
    if (h.op() < PacketHeader.OP_REQUEST || h.op() > PacketHeader.OP_CREDIT_REQUEST) {
      return "unknown operation " + h.op();
    }
    if (h.op() != PacketHeader.OP_RW && h.len() != 0) {
      return PacketHeader.opName(h.op()) + " with a payload";
    }
    if (h.op() == PacketHeader.OP_SHUTDOWN
        && (h.flags() & ~(PacketHeader.SHUTDOWN_RCV | PacketHeader.SHUTDOWN_SEND)) != 0) {
      return "unknown shutdown flags";
    }
    return null;
  }

  /** A guest REQUEST to host port P: connect to {@code <uds>_<P>}; RST when that fails. */
  private void guestConnect(PacketHeader h) {
    if (connections.size() + handshakes.size() >= MAX_CONNECTIONS) {
      warnings.warn(name + ": " + MAX_CONNECTIONS + " connections open; guest connection refused");
      queueReset(h.dstPort(), h.srcPort());
      return;
    }
    Path target = Path.of(udsPath + "_" + Integer.toUnsignedString(h.dstPort()));
    SocketChannel channel = null;
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.configureBlocking(false);
      boolean connected = channel.connect(UnixDomainSocketAddress.of(target));
      VsockConnection c = new VsockConnection(h.dstPort(), h.srcPort(), channel, false,
          ConnectionState.GUEST_CONNECTING, CONNECTION_BUFFER_BYTES);
      c.guestKnows = true;
      c.updatePeerCredit(h);
      c.connectPending = !connected;
      if (connected) {
        c.set(VsockConnection.PENDING_RESPONSE);
      }
      c.key = channel.register(selector, c.interestOps(), c);
      connections.put(c.key(), c);
      setDeadline(c, CONNECT_TIMEOUT_MILLIS);
      refresh(c);
    } catch (IOException | RuntimeException e) {
      // A missing or refusing listener is the guest's ECONNRESET, not a device problem.
      closeQuietly(channel);
      queueReset(h.dstPort(), h.srcPort());
    }
  }

  private void receive(VsockConnection c, PacketHeader h, GuestMemory memory,
      List<Descriptor> readable) {
    if (!c.guestMaySend()) {
      return; // as Firecracker: data after the guest's own SHUTDOWN(SEND) or our EOF is dropped
    }
    long length = h.length();
    if (length == 0) {
      return;
    }
    if (!c.withinGrantedCredit(length, CONNECTION_BUFFER_BYTES)) {
      kill(c, "credit overrun: " + length + " bytes with "
          + Integer.toUnsignedLong(c.guestTxCnt - c.lastFwdCntSent) + " of "
          + CONNECTION_BUFFER_BYTES + " in flight");
      return;
    }
    c.guestTxCnt += (int) length;
    try {
      ByteBuffer[] payload = views(memory, readable, PacketHeader.BYTES, length);
      if (c.txBuffer.isEmpty()) {
        c.fwdCnt += (int) c.channel.write(payload);
      }
      for (ByteBuffer b : payload) {
        if (b.hasRemaining()) {
          c.txBuffer.append(b);
        }
      }
    } catch (IOException | GuestMemoryException e) {
      kill(c, "forwarding to the host socket: " + e.getMessage());
      return;
    }
    afterForward(c);
  }

  private void established(VsockConnection c) {
    c.moveTo(ConnectionState.ESTABLISHED);
    c.deadline = 0;
    ByteBuffer ok = ByteBuffer.wrap(("OK " + Integer.toUnsignedString(c.localPort) + "\n")
        .getBytes(StandardCharsets.US_ASCII));
    try {
      c.channel.write(ok);
    } catch (IOException e) {
      kill(c, "host program went away before the guest answered: " + e.getMessage());
      return;
    }
    if (ok.hasRemaining()) {
      kill(c, "cannot write the OK line to a fresh host socket");
    }
  }

  /**
   * SHUTDOWN from the guest: flags only accumulate. Once it will neither send nor receive, the
   * connection ends with our RST as soon as its buffered bytes reached the host, or at the
   * shutdown timeout.
   */
  private void guestShutdown(VsockConnection c, int flags) {
    if (c.state() != ConnectionState.ESTABLISHED && c.state() != ConnectionState.SHUTTING_DOWN) {
      return;
    }
    boolean first = c.state() == ConnectionState.ESTABLISHED;
    c.moveTo(ConnectionState.SHUTTING_DOWN);
    c.guestWontReceive |= (flags & PacketHeader.SHUTDOWN_RCV) != 0;
    c.guestWontSend |= (flags & PacketHeader.SHUTDOWN_SEND) != 0;
    if (c.guestWontReceive && c.guestWontSend) {
      if (c.txBuffer.isEmpty() || c.hostClosed) {
        close(c, true);
      } else if (first || c.deadline == 0) {
        setDeadline(c, SHUTDOWN_TIMEOUT_MILLIS);
      }
    }
  }

  // ---- guest RX packets

  private void fillRx() {
    if (active == null || (resets.isEmpty() && rxSchedule.isEmpty())) {
      return;
    }
    SplitQueue queue = active.queue(RX_QUEUE);
    GuestMemory memory = active.memory();
    boolean used = false;
    try {
      while (!resets.isEmpty() || !rxSchedule.isEmpty()) {
        DescriptorChain chain = heldRx;
        heldRx = null;
        if (chain == null) {
          try {
            chain = queue.pop();
          } catch (QueueException.BadChain e) {
            warnings.warn(name + ": RX " + e.getMessage());
            queue.addUsed(e.head(), 0);
            used = true;
            continue;
          }
        }
        if (chain == null) {
          if (queue.rearm()) {
            continue;
          }
          break; // the guest's next RX kick brings us back
        }
        if (chain.readableBytes() > 0 || chain.writableBytes() <= PacketHeader.BYTES) {
          // Linux posts a header plus 4 KiB; a chain without room for one data byte is useless.
          warnings.warn(name + ": RX chain is not writable buffers of more than "
              + PacketHeader.BYTES + " bytes");
          queue.addUsed(chain.head(), 0);
          used = true;
          continue;
        }
        long written;
        try {
          written = produce(memory, chain);
        } catch (GuestMemoryException e) {
          warnings.warn(name + ": RX buffer: " + e.getMessage());
          written = 0;
        }
        if (written < 0) {
          heldRx = chain;
          break;
        }
        queue.addUsed(chain.head(), written);
        used = true;
      }
    } catch (QueueException.Broken e) {
      ActiveDevice device = active;
      broken();
      device.signals().needsReset(e.getMessage());
      return;
    }
    if (used && queue.needsInterrupt()) {
      active.signals().usedBuffers();
    }
  }

  /**
   * Fills one RX chain with the next packet owed; returns bytes written, -1 when none is. Each
   * scheduled connection gets one turn per chain and goes to the back after it, so one busy
   * connection cannot starve the others.
   */
  private long produce(GuestMemory memory, DescriptorChain chain) {
    List<Descriptor> buffers = chain.writable();
    Reset r = resets.poll();
    if (r != null) {
      return writeHeader(memory, buffers, new PacketHeader(PacketHeader.HOST_CID, guestCid,
          r.localPort(), r.peerPort(), 0, PacketHeader.TYPE_STREAM, PacketHeader.OP_RST, 0, 0, 0));
    }
    for (int turns = rxSchedule.size(); turns > 0; turns--) {
      VsockConnection c = rxSchedule.poll();
      c.scheduled = false;
      if (c.state() == ConnectionState.CLOSED) {
        continue;
      }
      long written = produce(c, memory, chain, buffers);
      refresh(c);
      if (written >= 0) {
        return written;
      }
    }
    // A connection killed during its turn owes an RST now.
    return resets.isEmpty() ? -1 : produce(memory, chain);
  }

  private long produce(VsockConnection c, GuestMemory memory, DescriptorChain chain,
      List<Descriptor> buffers) {
    if (c.has(VsockConnection.PENDING_REQUEST)) {
      c.clear(VsockConnection.PENDING_REQUEST);
      c.guestKnows = true;
      return send(c, memory, buffers, PacketHeader.OP_REQUEST, 0, 0);
    }
    if (c.has(VsockConnection.PENDING_RESPONSE)) {
      c.clear(VsockConnection.PENDING_RESPONSE);
      c.moveTo(ConnectionState.ESTABLISHED);
      c.deadline = 0;
      return send(c, memory, buffers, PacketHeader.OP_RESPONSE, 0, 0);
    }
    if (c.has(VsockConnection.PENDING_READ)) {
      long read = read(c, memory, chain, buffers);
      if (read >= 0) {
        return read;
      }
    }
    if (c.has(VsockConnection.PENDING_CREDIT_UPDATE)) {
      return send(c, memory, buffers, PacketHeader.OP_CREDIT_UPDATE, 0, 0);
    }
    return -1;
  }

  /** Host socket to guest: data, a credit request, or the host's end of stream. */
  private long read(VsockConnection c, GuestMemory memory, DescriptorChain chain,
      List<Descriptor> buffers) {
    if (!c.hostMaySend()) {
      c.clear(VsockConnection.PENDING_READ);
      return -1;
    }
    long credit = c.peerCredit();
    if (credit == 0) {
      c.clear(VsockConnection.PENDING_READ);
      if (c.creditRequested) {
        return -1;
      }
      c.creditRequested = true;
      return send(c, memory, buffers, PacketHeader.OP_CREDIT_REQUEST, 0, 0);
    }
    long room = Math.min(Math.min(chain.writableBytes() - PacketHeader.BYTES, MAX_PACKET_PAYLOAD),
        credit);
    long n;
    try {
      n = c.channel.read(views(memory, buffers, PacketHeader.BYTES, room));
    } catch (IOException e) {
      kill(c, "reading the host socket: " + e.getMessage());
      return -1;
    }
    if (n > 0) {
      c.rxCnt += (int) n;
      return send(c, memory, buffers, PacketHeader.OP_RW, (int) n, 0); // READ stays: maybe more
    }
    c.clear(VsockConnection.PENDING_READ);
    if (n == 0) {
      return -1;
    }
    // End of stream from the host program: as Firecracker, the whole connection winds down.
    c.hostClosed = true;
    c.moveTo(ConnectionState.SHUTTING_DOWN);
    setDeadline(c, SHUTDOWN_TIMEOUT_MILLIS);
    return send(c, memory, buffers, PacketHeader.OP_SHUTDOWN, 0,
        PacketHeader.SHUTDOWN_RCV | PacketHeader.SHUTDOWN_SEND);
  }

  /** Writes a connection's packet header; every packet carries our current credit. */
  private long send(VsockConnection c, GuestMemory memory, List<Descriptor> buffers, int op,
      int length, int flags) {
    c.lastFwdCntSent = c.fwdCnt;
    c.clear(VsockConnection.PENDING_CREDIT_UPDATE);
    return writeHeader(memory, buffers, new PacketHeader(PacketHeader.HOST_CID, guestCid,
        c.localPort, c.peerPort, length, PacketHeader.TYPE_STREAM, op, flags,
        CONNECTION_BUFFER_BYTES, c.fwdCnt)) + length;
  }

  private static long writeHeader(GuestMemory memory, List<Descriptor> buffers, PacketHeader h) {
    byte[] bytes = h.encode();
    GuestBuffers.write(memory, buffers, 0, bytes, 0, bytes.length);
    return PacketHeader.BYTES;
  }

  /** Views of {@code length} bytes of {@code buffers}, {@code skip} bytes in; no copy. */
  private static ByteBuffer[] views(GuestMemory memory, List<Descriptor> buffers, long skip,
      long length) {
    List<ByteBuffer> out = new ArrayList<>();
    long left = length;
    long toSkip = skip;
    for (Descriptor d : buffers) {
      if (left == 0) {
        break;
      }
      if (toSkip >= d.length()) {
        toSkip -= d.length();
        continue;
      }
      long n = Math.min(d.length() - toSkip, left);
      out.add(memory.slice(d.address() + toSkip, n).asByteBuffer());
      left -= n;
      toSkip = 0;
    }
    return out.toArray(ByteBuffer[]::new);
  }

  // ---- connection bookkeeping

  /** After any change: schedule what the connection owes the guest, update selector interest. */
  private void refresh(VsockConnection c) {
    if (c.state() == ConnectionState.CLOSED) {
      return;
    }
    if (c.pending != 0 && !c.scheduled) {
      c.scheduled = true;
      rxSchedule.add(c);
    }
    int ops = c.interestOps();
    if (c.key.isValid() && c.key.interestOps() != ops) {
      c.key.interestOps(ops);
    }
  }

  /** Ends a connection the protocol or the host broke, telling the guest with an RST. */
  private void kill(VsockConnection c, String reason) {
    warnings.warn(name + ": resetting " + c + ": " + reason);
    close(c, true);
  }

  private void close(VsockConnection c, boolean rst) {
    if (c.state() == ConnectionState.CLOSED) {
      return;
    }
    c.moveTo(ConnectionState.CLOSED);
    c.txBuffer.clear();
    c.pending = 0;
    connections.remove(c.key());
    if (c.hostInitiated) {
      localPorts.remove(c.localPort);
    }
    closeQuietly(c.channel);
    if (rst && c.guestKnows) {
      queueReset(c.localPort, c.peerPort);
    }
  }

  private void queueReset(int localPort, int peerPort) {
    if (resets.size() >= MAX_QUEUED_RESETS) {
      warnings.warn(name + ": " + MAX_QUEUED_RESETS + " resets waiting for RX buffers; one dropped");
      return;
    }
    resets.add(new Reset(localPort, peerPort));
  }

  private void setDeadline(VsockConnection c, long millis) {
    c.deadline = System.nanoTime() + millis * 1_000_000;
    noteDeadline(c.deadline);
  }

  private void noteDeadline(long deadline) {
    if (deadline - nextDeadline < 0) {
      nextDeadline = deadline;
    }
  }

  private void expireDeadlines() {
    long now = System.nanoTime();
    if (nextDeadline == Long.MAX_VALUE || now - nextDeadline < 0) {
      return;
    }
    nextDeadline = Long.MAX_VALUE;
    for (VsockConnection c : new ArrayList<>(connections.values())) {
      if (c.deadline == 0) {
        continue;
      }
      if (now - c.deadline >= 0) {
        kill(c, c.state() == ConnectionState.SHUTTING_DOWN ? "shutdown timed out"
            : "no answer to the connection request");
      } else {
        noteDeadline(c.deadline);
      }
    }
    for (HostHandshake h : new ArrayList<>(handshakes)) {
      if (now - h.deadline >= 0) {
        warnings.warn(name + ": host connection sent no CONNECT line in "
            + HANDSHAKE_TIMEOUT_MILLIS + " ms; closed");
        closeHandshake(h);
      } else {
        noteDeadline(h.deadline);
      }
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (IOException e) {
      // Nothing to do: the descriptor is released either way.
    }
  }
}

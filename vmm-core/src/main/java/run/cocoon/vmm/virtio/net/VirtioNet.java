package run.cocoon.vmm.virtio.net;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import run.cocoon.kvm.Errno;
import run.cocoon.kvm.EventFd;
import run.cocoon.kvm.Layouts;
import run.cocoon.kvm.Libc;
import run.cocoon.kvm.PollSet;
import run.cocoon.kvm.SyscallException;
import run.cocoon.kvm.Tap;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.Descriptor;
import run.cocoon.vmm.virtio.DescriptorChain;
import run.cocoon.vmm.virtio.QueueException;
import run.cocoon.vmm.virtio.QueueServer;
import run.cocoon.vmm.virtio.SplitQueue;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * virtio-net (virtio 1.2, 5.1) over a TAP interface: one receive and one transmit queue, no
 * control queue. Every frame carries a 12-byte {@code virtio_net_hdr_v1}, which goes to and from
 * the TAP unchanged (IFF_VNET_HDR): checksum and segmentation offloads are the host kernel's
 * business and no packet is parsed here. What the driver accepts to receive (GUEST_CSUM, TSO,
 * UFO) is what the TAP is told to hand over (TUNSETOFFLOAD).
 *
 * <p>Transmit runs on the TX queue's notifier thread: each request's readable buffers are gathered
 * into one frame of at most {@link #MAX_FRAME_BYTES} and written. When the TAP cannot take it
 * (EAGAIN) that thread waits for the TAP to become writable; the request stays unanswered, so
 * nothing is lost or reordered, and vCPUs never wait (their kicks go through the ioeventfd).
 *
 * <p>Receive runs on its own thread, which reads a frame from the TAP only when the driver has
 * posted receive buffers (otherwise the frame stays in the kernel, which drops when its queue is
 * full), then copies it into one buffer chain, or with MRG_RXBUF into as many as it needs. A frame
 * that cannot fit is dropped and counted, never cut.
 *
 * <p>Guest mistakes fail one request with a rate-limited warning: a writable transmit buffer, a
 * readable receive buffer, a frame shorter than its header or longer than {@link #MAX_FRAME_BYTES}.
 */
public final class VirtioNet implements VirtioDevice, AutoCloseable {
  // Feature bits (virtio 1.2, 5.1.3).
  /** The device takes frames with a partial checksum. */
  public static final int F_CSUM = 0;
  /** The driver takes frames with a partial checksum. */
  public static final int F_GUEST_CSUM = 1;
  /** The device has a MAC address in its configuration space. */
  public static final int F_MAC = 5;
  public static final int F_GUEST_TSO4 = 7;
  public static final int F_GUEST_TSO6 = 8;
  public static final int F_GUEST_UFO = 10;
  public static final int F_HOST_TSO4 = 11;
  public static final int F_HOST_TSO6 = 12;
  public static final int F_HOST_UFO = 14;
  /** The driver may spread a received frame over several buffer chains. */
  public static final int F_MRG_RXBUF = 15;

  /** Everything offered. */
  public static final long FEATURES = Virtio.bit(F_CSUM) | Virtio.bit(F_GUEST_CSUM)
      | Virtio.bit(F_MAC) | Virtio.bit(F_GUEST_TSO4) | Virtio.bit(F_GUEST_TSO6)
      | Virtio.bit(F_GUEST_UFO) | Virtio.bit(F_HOST_TSO4) | Virtio.bit(F_HOST_TSO6)
      | Virtio.bit(F_HOST_UFO) | Virtio.bit(F_MRG_RXBUF);

  public static final int RX_QUEUE = 0;
  public static final int TX_QUEUE = 1;
  /** Size offered for both queues. */
  public static final int QUEUE_SIZE = 256;
  /**
   * Largest frame either way, header included: a 64 KiB segmentation-offload packet with its
   * Ethernet header (65550) plus the 12-byte header. Longer transmit requests are dropped; longer
   * frames from the TAP are dropped and counted.
   */
  public static final int MAX_FRAME_BYTES = 65562;
  /** Bytes of virtio_net_hdr_v1 before every frame. */
  public static final int HEADER_BYTES = (int) Tap.VNET_HDR_BYTES;
  /** How long a reset waits for the receive thread. */
  public static final long STOP_JOIN_MILLIS = 2_000;

  private static final long FLAGS_OFFSET = Layouts.offset(Layouts.VIRTIO_NET_HDR_V1, "flags");
  private static final long NUM_BUFFERS_OFFSET =
      Layouts.offset(Layouts.VIRTIO_NET_HDR_V1, "num_buffers");
  private static final int PORT_FAILED = Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL;
  private static final System.Logger LOG = System.getLogger(VirtioNet.class.getName());

  /** Frames moved and dropped since the device was created. */
  public record Stats(long txFrames, long txDropped, long rxFrames, long rxDropped) {}

  private final String name;
  private final FramePort port;
  private final MacAddress mac;
  private final QueueServer txServer;
  private final EventFd rxKick;
  private final Object txLock = new Object();
  private final AtomicLong txFrames = new AtomicLong();
  private final AtomicLong txDropped = new AtomicLong();
  private final AtomicLong rxFrames = new AtomicLong();
  private final AtomicLong rxDropped = new AtomicLong();
  private volatile Session session;
  private boolean closed;

  /**
   * Opens TAP {@code tapName} for device {@code name}.
   *
   * @param mac {@code aa:bb:cc:dd:ee:ff}, or null for a random locally administered address
   * @throws IllegalArgumentException for a bad TAP name or MAC address (checked before the TAP is
   *     opened)
   * @throws SyscallException when the TAP cannot be opened
   */
  public VirtioNet(String name, String tapName, String mac) {
    this(name, mac == null ? MacAddress.random() : MacAddress.parse(mac), tapName);
  }

  /** The MAC is parsed (above) before the TAP is opened (here). */
  private VirtioNet(String name, MacAddress mac, String tapName) {
    this(name, FramePort.of(Tap.open(tapName)), mac);
  }

  /** A device on any frame port; it owns {@code port} and closes it. */
  VirtioNet(String name, FramePort port, MacAddress mac) {
    this.name = name;
    this.port = port;
    this.mac = mac;
    this.txServer = new QueueServer(name);
    try {
      this.rxKick = EventFd.createNonBlocking();
    } catch (RuntimeException e) {
      port.close();
      throw e;
    }
  }

  /** The MAC address the guest sees. */
  public MacAddress mac() {
    return mac;
  }

  public Stats stats() {
    return new Stats(txFrames.get(), txDropped.get(), rxFrames.get(), rxDropped.get());
  }

  @Override
  public int deviceId() {
    return Virtio.ID_NET;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long features() {
    return FEATURES;
  }

  @Override
  public int queueCount() {
    return 2;
  }

  @Override
  public int maxQueueSize() {
    return QUEUE_SIZE;
  }

  /** struct virtio_net_config up to the MAC: status, queue pairs and MTU are not offered. */
  @Override
  public int configSize() {
    return MacAddress.OCTETS;
  }

  @Override
  public long readConfig(int offset, int size) {
    long value = 0;
    for (int i = 0; i < size; i++) {
      value |= (long) mac.octet(offset + i) << 8 * i;
    }
    return value;
  }

  /**
   * The TAP offloads for what the driver accepted. TSO and UFO without GUEST_CSUM break the
   * specification's dependencies; the TAP would refuse them, so they are left out.
   */
  static int tapOffload(ActiveDevice active) {
    if (!active.acked(F_GUEST_CSUM)) {
      return 0;
    }
    return Tap.TUN_F_CSUM
        | (active.acked(F_GUEST_TSO4) ? Tap.TUN_F_TSO4 : 0)
        | (active.acked(F_GUEST_TSO6) ? Tap.TUN_F_TSO6 : 0)
        | (active.acked(F_GUEST_UFO) ? Tap.TUN_F_UFO : 0);
  }

  @Override
  public synchronized void activate(ActiveDevice active) {
    Session started;
    try {
      port.setOffload(tapOffload(active));
      started = new Session(active);
    } catch (RuntimeException e) {
      active.signals().needsReset(port.describe() + ": " + e.getMessage());
      return;
    }
    session = started;
    started.start();
  }

  @Override
  public void queueNotified(int index) {
    if (index == RX_QUEUE) {
      Session s = session;
      if (s != null) {
        rxKick.write(1);
      }
      return;
    }
    synchronized (txLock) {
      Session s = session;
      if (s == null || s.stopping || s.txBroken) {
        return;
      }
      if (!txServer.drain(s.tx, s.active.signals(), chain -> transmit(s, chain))) {
        s.txBroken = true;
      }
    }
  }

  @Override
  public synchronized void reset() {
    Session s = session;
    session = null;
    if (s != null) {
      s.stop();
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    reset();
    rxKick.close();
    port.close();
  }

  // ---- transmit (TX notifier thread, under txLock) ----

  private long transmit(Session s, DescriptorChain chain) {
    if (s.stopping) {
      return 0; // reset: the driver no longer cares about this request
    }
    for (Descriptor d : chain.descriptors()) {
      if (d.writable()) {
        return txDrop("device-writable buffer in a transmit request");
      }
    }
    long length = chain.readableBytes();
    if (length < HEADER_BYTES || length > MAX_FRAME_BYTES) {
      return txDrop("transmit request of " + length + " bytes (must be " + HEADER_BYTES + " to "
          + MAX_FRAME_BYTES + ")");
    }
    // The queue checked every buffer to be guest RAM when it took the chain.
    MemorySegment frame = s.txBuffer.asSlice(0, length);
    long at = 0;
    for (Descriptor d : chain.descriptors()) {
      MemorySegment.copy(s.memory.slice(d.address(), d.length()), 0, frame, at, d.length());
      at += d.length();
    }
    while (true) {
      long n;
      try {
        n = port.write(frame);
      } catch (SyscallException e) {
        return txDrop(port.describe() + " refused a frame: " + e.getMessage());
      }
      if (n == length) {
        txFrames.incrementAndGet();
        return 0;
      }
      if (n == -Errno.EAGAIN) {
        if (!s.awaitWritable()) {
          return s.stopping ? 0 : txDrop(port.describe() + " failed while full");
        }
      } else if (n != -Errno.EINTR) {
        return txDrop(port.describe() + " took " + n + " of a " + length + "-byte frame");
      }
    }
  }

  private long txDrop(String why) {
    txDropped.incrementAndGet();
    txServer.warnings().warn(name + ": " + why + "; frame dropped");
    return 0;
  }

  // ---- one activation ----

  /** What the receive loop waits for next. */
  private enum Wait { KICK, PORT, STOP }

  /** What became of the frame waiting in the receive buffer. */
  private enum Delivery { DELIVERED, DROPPED, NEEDS_BUFFERS }

  /** Queues, threads and buffers from DRIVER_OK to reset. */
  private final class Session {
    final ActiveDevice active;
    final GuestMemory memory;
    final SplitQueue rx;
    final SplitQueue tx;
    final boolean mergeable;
    final boolean guestCsum;
    final Arena arena = Arena.ofShared();
    final MemorySegment txBuffer;
    /** One byte more than the largest frame, so a frame the TAP cut shows as too long. */
    final MemorySegment rxBuffer;
    final EventFd stopEvent;
    final Thread rxThread;
    volatile boolean stopping;
    boolean txBroken; // under txLock

    // Receive state, touched by the receive thread only.
    /** Chains taken from the ring and checked, not yet returned. */
    final ArrayDeque<DescriptorChain> held = new ArrayDeque<>();
    long heldBytes;
    /** Length of the frame waiting in rxBuffer, or -1. */
    int staged = -1;
    boolean returned;

    Session(ActiveDevice active) {
      this.active = active;
      this.memory = active.memory();
      this.rx = active.queue(RX_QUEUE);
      this.tx = active.queue(TX_QUEUE);
      this.mergeable = active.acked(F_MRG_RXBUF);
      this.guestCsum = active.acked(F_GUEST_CSUM);
      this.txBuffer = arena.allocate(MAX_FRAME_BYTES);
      this.rxBuffer = arena.allocate(MAX_FRAME_BYTES + 1);
      try {
        this.stopEvent = EventFd.createNonBlocking();
      } catch (RuntimeException e) {
        arena.close();
        throw e;
      }
      this.rxThread = Thread.ofPlatform().daemon().name(name + "-rx").unstarted(this::receiveLoop);
    }

    void start() {
      rxThread.start();
    }

    void stop() {
      stopping = true;
      stopEvent.write(1);
      try {
        rxThread.join(STOP_JOIN_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (txLock) {
        // The transmit thread has left (it watches stopEvent while it waits for the TAP).
      }
      if (rxThread.isAlive()) {
        LOG.log(Level.ERROR, name + ": receive thread did not stop; leaving its buffers");
        return;
      }
      stopEvent.close();
      arena.close();
    }

    /**
     * Waits until the TAP takes frames again; false when the device is being reset or the TAP
     * reports an error instead.
     */
    boolean awaitWritable() {
      try (PollSet poll = new PollSet(2)) {
        poll.set(0, stopEvent.fd(), Libc.POLLIN);
        poll.set(1, port.fd(), Libc.POLLOUT);
        while (!stopping) {
          poll.poll(-1);
          if (poll.ready(0) != 0) {
            return false;
          }
          int ready = poll.ready(1);
          if (ready != 0) {
            return (ready & PORT_FAILED) == 0;
          }
        }
        return false;
      }
    }

    // ---- receive (receive thread) ----

    private void receiveLoop() {
      try (PollSet poll = new PollSet(3)) {
        poll.set(0, stopEvent.fd(), Libc.POLLIN);
        poll.set(1, rxKick.fd(), Libc.POLLIN);
        while (!stopping) {
          Wait wait = receive();
          if (wait == Wait.STOP) {
            return;
          }
          poll.set(2, wait == Wait.PORT ? port.fd() : -1, Libc.POLLIN);
          poll.poll(-1);
          if ((poll.ready(2) & PORT_FAILED) != 0) {
            LOG.log(Level.ERROR, name + ": " + port.describe() + " failed, receive stopped");
            return;
          }
          if (poll.ready(1) != 0) {
            rxKick.read();
          }
        }
      } catch (RuntimeException e) {
        // A bug, not a guest action: stop this device, keep the VM.
        LOG.log(Level.ERROR, name + ": receive failed", e);
        active.signals().needsReset("receive failed: " + e);
      }
    }

    /** Moves frames from the TAP into the guest until it has to wait; says for what. */
    private Wait receive() {
      try {
        while (!stopping) {
          if (staged < 0) {
            if (!buffersPosted()) {
              return Wait.KICK;
            }
            long n;
            try {
              n = port.read(rxBuffer);
            } catch (SyscallException e) {
              LOG.log(Level.ERROR, name + ": " + port.describe() + " failed, receive stopped: "
                  + e.getMessage());
              return Wait.STOP;
            }
            if (n == -Errno.EAGAIN) {
              return Wait.PORT;
            }
            if (n == -Errno.EINTR) {
              continue;
            }
            if (n < HEADER_BYTES || n > MAX_FRAME_BYTES) {
              rxDrop("frame of " + n + " bytes from " + port.describe() + " (must be "
                  + HEADER_BYTES + " to " + MAX_FRAME_BYTES + ")");
              continue;
            }
            staged = (int) n;
          }
          Delivery d = mergeable ? deliverMerged() : deliverWhole();
          if (d == Delivery.NEEDS_BUFFERS) {
            return Wait.KICK;
          }
          staged = -1;
        }
        return Wait.STOP;
      } catch (QueueException.Broken e) {
        active.signals().needsReset(e.getMessage());
        return Wait.STOP;
      } finally {
        if (returned) {
          returned = false;
          if (rx.needsInterrupt()) {
            active.signals().usedBuffers();
          }
        }
      }
    }

    /**
     * Whether a receive chain is held or waiting in the ring. When none is, asks the driver for a
     * kick on its next one (EVENT_IDX) and looks once more, so a buffer posted meanwhile is seen.
     */
    private boolean buffersPosted() throws QueueException.Broken {
      return !held.isEmpty() || rx.pending() > 0 || rx.rearm();
    }

    /**
     * Like {@link #take}, but before saying no asks the driver for a kick on its next buffer
     * (EVENT_IDX) and looks once more.
     */
    private boolean takeOrArm() throws QueueException.Broken {
      while (!take()) {
        if (!rx.rearm()) {
          return false;
        }
      }
      return true;
    }

    /** Takes the next usable chain into {@link #held}; false when the ring has none now. */
    private boolean take() throws QueueException.Broken {
      while (true) {
        DescriptorChain chain;
        try {
          chain = rx.pop();
        } catch (QueueException.BadChain e) {
          refuse(e.head(), e.getMessage());
          continue;
        }
        if (chain == null) {
          return false;
        }
        if (!chain.readable().isEmpty()) {
          refuse(chain.head(), "device-readable buffer in a receive request");
          continue;
        }
        long capacity = chain.writableBytes();
        if (capacity < HEADER_BYTES) {
          refuse(chain.head(), "receive request of " + capacity + " bytes cannot hold the "
              + HEADER_BYTES + "-byte header");
          continue;
        }
        held.addLast(chain);
        heldBytes += capacity;
        return true;
      }
    }

    private void refuse(int head, String why) {
      txServer.warnings().warn(name + ": " + why + "; request failed");
      rx.addUsed(head, 0);
      returned = true;
    }

    /** Without MRG_RXBUF: the whole frame into the first chain, or dropped when it cannot fit. */
    private Delivery deliverWhole() throws QueueException.Broken {
      if (held.isEmpty() && !takeOrArm()) {
        return Delivery.NEEDS_BUFFERS;
      }
      DescriptorChain chain = held.getFirst();
      long capacity = chain.writableBytes();
      if (capacity < staged) {
        // The chain stays for a frame that fits.
        rxDrop("frame of " + staged + " bytes does not fit a " + capacity + "-byte receive buffer");
        return Delivery.DROPPED;
      }
      prepareHeader(1);
      held.removeFirst();
      heldBytes -= capacity;
      fill(chain, 0, staged);
      rxFrames.incrementAndGet();
      return Delivery.DELIVERED;
    }

    /**
     * With MRG_RXBUF: as many chains as the frame needs, in order, the header's num_buffers
     * saying how many. A frame waits for more chains, and is dropped only when all the ring's
     * buffers together could not hold it.
     */
    private Delivery deliverMerged() throws QueueException.Broken {
      while (heldBytes < staged) {
        if (!takeOrArm()) {
          if (held.size() >= rx.size()) {
            rxDrop("frame of " + staged + " bytes is larger than all " + held.size()
                + " receive buffers together (" + heldBytes + " bytes)");
            return Delivery.DROPPED;
          }
          return Delivery.NEEDS_BUFFERS;
        }
      }
      int count = 0;
      long covered = 0;
      for (DescriptorChain chain : held) {
        count++;
        covered += chain.writableBytes();
        if (covered >= staged) {
          break;
        }
      }
      prepareHeader(count);
      long offset = 0;
      for (int i = 0; i < count; i++) {
        DescriptorChain chain = held.removeFirst();
        heldBytes -= chain.writableBytes();
        long n = Math.min(chain.writableBytes(), staged - offset);
        fill(chain, offset, n);
        offset += n;
      }
      rxFrames.incrementAndGet();
      return Delivery.DELIVERED;
    }

    /** num_buffers, and no checksum flags for a driver that did not ask for them. */
    private void prepareHeader(int buffers) {
      rxBuffer.set(JAVA_SHORT_UNALIGNED, NUM_BUFFERS_OFFSET, (short) buffers);
      if (!guestCsum) {
        rxBuffer.set(JAVA_BYTE, FLAGS_OFFSET, (byte) 0);
      }
    }

    /**
     * Copies rxBuffer[offset, offset + length) into {@code chain} and returns it as used. The
     * queue checked every buffer to be guest RAM when it took the chain.
     */
    private void fill(DescriptorChain chain, long offset, long length) {
      long done = 0;
      for (Descriptor d : chain.descriptors()) {
        if (done == length) {
          break;
        }
        long n = Math.min(d.length(), length - done);
        MemorySegment.copy(rxBuffer, offset + done, memory.slice(d.address(), n), 0, n);
        done += n;
      }
      rx.addUsed(chain.head(), done);
      returned = true;
    }

    private void rxDrop(String why) {
      rxDropped.incrementAndGet();
      txServer.warnings().warn(name + ": " + why + "; frame dropped");
    }
  }
}

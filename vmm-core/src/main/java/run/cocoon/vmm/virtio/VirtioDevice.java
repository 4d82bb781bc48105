package run.cocoon.vmm.virtio;

/**
 * A virtio device behind a {@link MmioTransport}. The transport owns feature negotiation, the
 * status state machine and queue setup; the device owns its configuration space and serves its
 * queues once activated.
 *
 * <p>Threads: {@link #readConfig}, {@link #writeConfig} run on vCPU threads and must not block.
 * {@link #queueNotified} runs on the queue's notifier thread (an ioeventfd reader), never on a vCPU
 * thread, and may do I/O. {@link #activate} and {@link #reset} run with the transport locked.
 */
public interface VirtioDevice {
  /** The virtio device ID ({@link Virtio#ID_BLOCK}, ...). */
  int deviceId();

  /** Short name for logs and thread names, e.g. "virtio-blk0". */
  String name();

  /**
   * Device-specific feature bits offered. The transport adds VERSION_1, EVENT_IDX and
   * INDIRECT_DESC itself.
   */
  long features();

  /** Number of virtqueues. */
  int queueCount();

  /** Largest size the driver may choose for each queue (QueueNumMax), a power of two. */
  int maxQueueSize();

  /** Bytes of configuration space; reads past it return zero. */
  int configSize();

  /** Reads {@code size} (1, 2 or 4) bytes of configuration space at {@code offset}. */
  long readConfig(int offset, int size);

  /** A driver write to configuration space; ignored by default. */
  default void writeConfig(int offset, int size, long value) {}

  /**
   * Starts serving: called once on DRIVER_OK with every queue checked.
   *
   * @throws QueueException.BadSetup when the device cannot work with what was negotiated
   */
  void activate(ActiveDevice active) throws QueueException.BadSetup;

  /** The driver kicked queue {@code index}: take and serve its requests. */
  void queueNotified(int index);

  /** Stops serving and forgets the queues (driver reset, or the VM ends). */
  void reset();
}

package run.cocoon.vmm.virtio;

import run.cocoon.vmm.devices.RateLimitedLog;

/**
 * The loop every device runs when a queue is kicked: take each request, let the device serve it,
 * return it as used, re-arm notifications, and interrupt the driver once per batch if it asked.
 * A malformed request is returned with nothing written; a broken ring stops the device.
 */
public final class QueueServer {
  /** Serves one request; returns how many bytes it wrote into the chain's writable buffers. */
  @FunctionalInterface
  public interface Handler {
    long serve(DescriptorChain chain);
  }

  private final String name;
  private final RateLimitedLog warnings;

  public QueueServer(String name) {
    this.name = name;
    this.warnings = new RateLimitedLog("cocoon.vmm.virtio." + name);
  }

  /**
   * Serves everything the driver has queued.
   *
   * @return false when the ring is broken and the device was told to stop
   */
  public boolean drain(SplitQueue queue, ActiveDevice.Signals signals, Handler handler) {
    boolean used = false;
    try {
      do {
        while (true) {
          DescriptorChain chain;
          try {
            chain = queue.pop();
          } catch (QueueException.BadChain e) {
            warnings.warn(name + ": " + e.getMessage());
            queue.addUsed(e.head(), 0);
            used = true;
            continue;
          }
          if (chain == null) {
            break;
          }
          queue.addUsed(chain.head(), handler.serve(chain));
          used = true;
        }
      } while (queue.rearm());
      return true;
    } catch (QueueException.Broken e) {
      signals.needsReset(e.getMessage());
      return false;
    } finally {
      if (used && queue.needsInterrupt()) {
        signals.usedBuffers();
      }
    }
  }

  /** The warning channel, for request-level errors the device reports itself. */
  public RateLimitedLog warnings() {
    return warnings;
  }
}

package run.cocoon.vmm.virtio;

import java.util.List;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * What a device gets when the driver sets DRIVER_OK: guest memory, its queues (index order), the
 * features the driver accepted, and the ways to signal back.
 */
public record ActiveDevice(GuestMemory memory, List<SplitQueue> queues, long ackedFeatures,
    Signals signals) {

  public ActiveDevice {
    queues = List.copyOf(queues);
  }

  /** How a device tells the driver about progress or failure. */
  public interface Signals {
    /** Used buffers were added: raise the interrupt (the caller checked needsInterrupt). */
    void usedBuffers();

    /** Configuration space changed: bump the generation and raise the interrupt. */
    void configChanged();

    /**
     * The device cannot go on (a broken ring): set DEVICE_NEEDS_RESET, raise a config interrupt
     * and stop serving until the driver resets it. Logged once, with the reason.
     */
    void needsReset(String reason);
  }

  public boolean acked(int featureBit) {
    return (ackedFeatures & Virtio.bit(featureBit)) != 0;
  }

  public SplitQueue queue(int index) {
    return queues.get(index);
  }
}

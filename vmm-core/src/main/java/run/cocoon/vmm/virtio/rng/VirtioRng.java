package run.cocoon.vmm.virtio.rng;

import run.cocoon.kvm.Libc;
import run.cocoon.vmm.memory.GuestMemoryException;
import run.cocoon.vmm.virtio.ActiveDevice;
import run.cocoon.vmm.virtio.Descriptor;
import run.cocoon.vmm.virtio.DescriptorChain;
import run.cocoon.vmm.virtio.QueueException;
import run.cocoon.vmm.virtio.QueueServer;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * virtio-rng (virtio 1.2, 5.4): fills the guest's writable buffers from the host's getrandom(2),
 * straight into guest memory, at most {@link #MAX_BYTES_PER_REQUEST} per request so a guest cannot
 * make the host generate or hold more than that at once (#12 of the hostile-input list).
 */
public final class VirtioRng implements VirtioDevice {
  /** Queue size offered. */
  public static final int QUEUE_SIZE = 64;
  /** Most random bytes one request gets; the rest of its buffers stay untouched. */
  public static final int MAX_BYTES_PER_REQUEST = 64 * 1024;

  private final String name;
  private final QueueServer server;
  private volatile ActiveDevice active;

  public VirtioRng(String name) {
    this.name = name;
    this.server = new QueueServer(name);
  }

  @Override
  public int deviceId() {
    return Virtio.ID_RNG;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public long features() {
    return 0;
  }

  @Override
  public int queueCount() {
    return 1;
  }

  @Override
  public int maxQueueSize() {
    return QUEUE_SIZE;
  }

  @Override
  public int configSize() {
    return 0;
  }

  @Override
  public long readConfig(int offset, int size) {
    return 0;
  }

  @Override
  public void activate(ActiveDevice device) throws QueueException.BadSetup {
    this.active = device;
  }

  @Override
  public synchronized void queueNotified(int index) {
    ActiveDevice device = active;
    if (device == null) {
      return;
    }
    if (!server.drain(device.queue(0), device.signals(), this::serve)) {
      active = null;
    }
  }

  private long serve(DescriptorChain chain) {
    ActiveDevice device = active;
    long left = MAX_BYTES_PER_REQUEST;
    long written = 0;
    for (Descriptor d : chain.descriptors()) {
      if (!d.writable()) {
        server.warnings().warn(name + ": device-readable buffer in a request; request failed");
        return 0;
      }
    }
    for (Descriptor d : chain.writable()) {
      if (left == 0) {
        break;
      }
      long n = Math.min(d.length(), left);
      try {
        Libc.getrandom(device.memory().slice(d.address(), n));
      } catch (GuestMemoryException e) {
        server.warnings().warn(name + ": " + e.getMessage());
        return written;
      }
      written += n;
      left -= n;
    }
    return written;
  }

  @Override
  public synchronized void reset() {
    active = null;
  }
}

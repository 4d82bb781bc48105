package run.cocoon.vmm;

import java.lang.System.Logger.Level;
import run.cocoon.kvm.EventFd;
import run.cocoon.kvm.VmFd;
import run.cocoon.vmm.devices.MmioBus;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.virtio.MmioTransport;
import run.cocoon.vmm.virtio.QueueNotifier;
import run.cocoon.vmm.virtio.VirtioDevice;

/**
 * One virtio device wired into a VM: its MMIO window on the bus, an irqfd for its interrupt and an
 * ioeventfd per queue, so that neither notifications nor interrupts go through a vCPU exit.
 */
final class VirtioSlot implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(VirtioSlot.class.getName());

  private final VirtioDevice device;
  private final VmFd vm;
  private final long base;
  private final int gsi;
  private final EventFd irq;
  private final QueueNotifier notifier;
  private final MmioTransport transport;
  private int ioeventfds;
  private boolean irqfd;

  VirtioSlot(VirtioDevice device, int index, VmFd vm, GuestMemory memory, MmioBus bus) {
    this.device = device;
    this.vm = vm;
    this.base = Layout.virtioBase(index);
    this.gsi = Layout.virtioGsi(index);
    this.irq = EventFd.create();
    QueueNotifier queues = null;
    try {
      queues = new QueueNotifier(device);
      vm.registerIrqfd(irq, gsi);
      irqfd = true;
      for (int q = 0; q < device.queueCount(); q++) {
        vm.registerIoeventfd(queues.event(q), base + MmioTransport.REG_QUEUE_NOTIFY, 4, false,
            (long) q);
        ioeventfds++;
      }
    } catch (RuntimeException e) {
      this.notifier = queues;
      this.transport = null;
      close();
      throw e;
    }
    this.notifier = queues;
    EventFd line = irq;
    QueueNotifier kicks = queues;
    this.transport = new MmioTransport(device, memory, () -> line.write(1), kicks::kick);
    bus.register(base, MmioTransport.WINDOW_BYTES, transport);
    notifier.start();
  }

  VirtioDevice device() {
    return device;
  }

  /** Stops the device, its threads and its host resources; the guest must no longer run. */
  @Override
  public void close() {
    if (transport != null) {
      transport.shutdown();
    }
    if (notifier != null) {
      for (int q = 0; q < ioeventfds; q++) {
        try {
          vm.unregisterIoeventfd(notifier.event(q), base + MmioTransport.REG_QUEUE_NOTIFY, 4, false,
              (long) q);
        } catch (RuntimeException e) {
          LOG.log(Level.DEBUG, device.name() + ": ioeventfd not removed: " + e.getMessage());
        }
      }
      notifier.close();
    }
    if (irqfd) {
      try {
        vm.unregisterIrqfd(irq, gsi);
      } catch (RuntimeException e) {
        LOG.log(Level.DEBUG, device.name() + ": irqfd not removed: " + e.getMessage());
      }
    }
    irq.close();
    if (device instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.log(Level.WARNING, device.name() + ": close failed: " + e.getMessage());
      }
    }
  }
}

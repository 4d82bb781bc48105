package run.cocoon.vmm.virtio;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.kvm.EventFd;
import run.cocoon.kvm.SyscallException;

/**
 * One thread per virtqueue that waits on the queue's ioeventfd and hands each kick to the device.
 * KVM signals the eventfd when the guest writes the queue's index to QueueNotify, so the data path
 * never takes a vCPU exit to user space.
 */
public final class QueueNotifier implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(QueueNotifier.class.getName());
  /** How long {@link #close()} waits for each thread. */
  static final long JOIN_MILLIS = 2_000;

  private final List<EventFd> events = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final VirtioDevice device;
  private volatile boolean closing;

  public QueueNotifier(VirtioDevice device) {
    this.device = device;
    try {
      for (int i = 0; i < device.queueCount(); i++) {
        events.add(EventFd.create());
      }
    } catch (RuntimeException e) {
      events.forEach(EventFd::close);
      throw e;
    }
  }

  /** The eventfd of queue {@code index}, to register with KVM. */
  public EventFd event(int index) {
    return events.get(index);
  }

  /** Kicks queue {@code index} from the host side (an exiting QueueNotify). */
  public void kick(int index) {
    events.get(index).write(1);
  }

  /** Starts the threads. */
  public void start() {
    for (int i = 0; i < events.size(); i++) {
      int index = i;
      EventFd event = events.get(i);
      threads.add(Thread.ofPlatform().daemon().name(device.name() + "-q" + i)
          .start(() -> serve(index, event)));
    }
  }

  private void serve(int index, EventFd event) {
    while (!closing) {
      try {
        event.read();
      } catch (SyscallException e) {
        if (!closing) {
          LOG.log(Level.ERROR, device.name() + " queue " + index + ": " + e.getMessage());
        }
        return;
      }
      if (closing) {
        return;
      }
      try {
        device.queueNotified(index);
      } catch (RuntimeException e) {
        // A device bug must not take the VMM down; the device stays as it is.
        LOG.log(Level.ERROR, device.name() + " queue " + index + " failed", e);
      }
    }
  }

  @Override
  public void close() {
    closing = true;
    for (EventFd e : events) {
      e.write(1);
    }
    boolean stopped = true;
    for (Thread t : threads) {
      try {
        t.join(JOIN_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      stopped &= !t.isAlive();
    }
    if (stopped) {
      events.forEach(EventFd::close);
    } else {
      LOG.log(Level.ERROR, device.name() + ": queue threads did not stop; leaving their eventfds open");
    }
  }
}

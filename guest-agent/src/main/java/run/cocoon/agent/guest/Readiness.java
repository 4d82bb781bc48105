package run.cocoon.agent.guest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Waits until one of some non-blocking descriptors is ready, without pinning virtual threads.
 *
 * <p>A virtual thread blocked in a native call (poll, read) holds its carrier thread, and the
 * agent's guest has one or two vCPUs, so one or two such threads would stall every other virtual
 * thread. So sockets here are non-blocking; a platform thread waits in poll(2) directly, and a
 * virtual thread registers with the one poller thread (a platform daemon) and parks until the
 * poller sees its descriptor ready, as the JDK's own sockets do.
 */
final class Readiness {
  private Readiness() {}

  /** Returns once one of {@code fds} reports {@code events} (or an error or hang-up). */
  static void await(int[] fds, short events) {
    if (Thread.currentThread().isVirtual()) {
      Poller.INSTANCE.await(fds, events);
    } else {
      int[] revents;
      do {
        revents = GuestLibc.poll(fds, events, -1);
      } while (!any(revents));
    }
  }

  private static boolean any(int[] revents) {
    for (int r : revents) {
      if (r != 0) {
        return true;
      }
    }
    return false;
  }

  /** The platform thread that polls on behalf of parked virtual threads. */
  private static final class Poller {
    static final Poller INSTANCE = new Poller();

    /** One parked thread's request; identity matters (one per wait). */
    private static final class Waiter {
      final int[] fds;
      final short events;
      final Thread thread;

      Waiter(int[] fds, short events, Thread thread) {
        this.fds = fds;
        this.events = events;
        this.thread = thread;
      }
    }

    private final List<Waiter> waiters = new ArrayList<>();
    private final List<Waiter> ready = new ArrayList<>();
    private final int wakeFd = GuestLibc.eventfd(0, GuestLibc.EFD_CLOEXEC | GuestLibc.EFD_NONBLOCK);
    private final MemorySegment counter = Arena.global().allocate(Long.BYTES);

    private Poller() {
      Thread.ofPlatform().daemon().name("cocoon-poller").start(this::run);
    }

    void await(int[] fds, short events) {
      Waiter w = new Waiter(fds, events, Thread.currentThread());
      synchronized (this) {
        waiters.add(w);
      }
      wake();
      while (true) {
        synchronized (this) {
          if (ready.remove(w)) {
            return;
          }
        }
        LockSupport.park(this);
      }
    }

    private void wake() {
      counter.set(ValueLayout.JAVA_LONG, 0, 1L);
      GuestLibc.write(wakeFd, counter);
    }

    private void run() {
      MemorySegment drain = Arena.global().allocate(Long.BYTES);
      while (true) {
        List<Waiter> snapshot;
        synchronized (this) {
          snapshot = List.copyOf(waiters);
        }
        int count = 1;
        for (Waiter w : snapshot) {
          count += w.fds.length;
        }
        int[] fds = new int[count];
        short[] events = new short[count];
        fds[0] = wakeFd;
        events[0] = GuestLibc.POLLIN;
        int j = 1;
        for (Waiter w : snapshot) {
          for (int fd : w.fds) {
            fds[j] = fd;
            events[j++] = w.events;
          }
        }
        int[] revents = GuestLibc.poll(fds, events, -1);
        if (revents[0] != 0) {
          GuestLibc.read(wakeFd, drain); // reset the eventfd's counter
        }
        int i = 1;
        for (Waiter w : snapshot) {
          boolean isReady = false;
          for (int k = 0; k < w.fds.length; k++, i++) {
            isReady |= revents[i] != 0;
          }
          if (isReady) {
            synchronized (this) {
              waiters.remove(w);
              ready.add(w);
            }
            LockSupport.unpark(w.thread);
          }
        }
      }
    }
  }
}

package run.cocoon.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The run state: the first end wins, ends kick every vCPU once, pauses hold vCPU threads. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VmControlTest {
  @Test
  void theFirstEndWinsAndKicksOnce() throws Exception {
    AtomicInteger kicks = new AtomicInteger();
    VmControl c = new VmControl(x -> kicks.incrementAndGet());
    assertFalse(c.isEnding());
    c.end(new VmEnd.PoweredOff());
    c.end(new VmEnd.Crashed("later"));
    assertTrue(c.isEnding());
    assertInstanceOf(VmEnd.PoweredOff.class, c.await());
    assertEquals(1, kicks.get());
  }

  @Test
  void concurrentStopsLeaveExactlyOneEnd() throws Exception {
    AtomicInteger kicks = new AtomicInteger();
    VmControl c = new VmControl(x -> kicks.incrementAndGet());
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      int n = i;
      threads.add(Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        c.end(new VmEnd.Stopped("stopper " + n));
      }));
    }
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    assertInstanceOf(VmEnd.Stopped.class, c.result());
    assertEquals(1, kicks.get());
    assertTrue(c.await(1, TimeUnit.SECONDS));
  }

  @Test
  void aPauseHoldsVcpuThreadsUntilResumeOrEnd() throws Exception {
    AtomicInteger kicks = new AtomicInteger();
    VmControl c = new VmControl(x -> kicks.incrementAndGet());
    c.pause();
    assertTrue(c.isPaused());
    assertEquals(1, kicks.get(), "a pause kicks the vCPUs out of KVM_RUN");
    CountDownLatch passed = new CountDownLatch(1);
    Thread vcpu = Thread.ofPlatform().start(() -> {
      try {
        c.awaitRunnable();
        passed.countDown();
      } catch (InterruptedException e) {
        // ended by the test
      }
    });
    assertFalse(passed.await(200, TimeUnit.MILLISECONDS), "held while paused");
    c.resume();
    assertTrue(passed.await(10, TimeUnit.SECONDS), "released by resume");
    vcpu.join();

    c.pause();
    CountDownLatch released = new CountDownLatch(1);
    Thread again = Thread.ofPlatform().start(() -> {
      try {
        c.awaitRunnable();
        released.countDown();
      } catch (InterruptedException e) {
        // ended by the test
      }
    });
    assertFalse(released.await(200, TimeUnit.MILLISECONDS));
    c.end(new VmEnd.Stopped("stop while paused"));
    assertTrue(released.await(10, TimeUnit.SECONDS), "an end releases a paused vCPU");
    again.join();
  }
}

package run.cocoon.vmm;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The run state shared by a VM's vCPU threads and whoever controls it: running, paused or
 * ending, and the end itself (the first reported end wins). Changes are followed by a kick so
 * that vCPUs inside KVM_RUN notice.
 */
final class VmControl {
  private final AtomicReference<VmEnd> end = new AtomicReference<>();
  private final CountDownLatch ended = new CountDownLatch(1);
  private final Consumer<VmControl> kickAll;
  private boolean paused;

  VmControl(Consumer<VmControl> kickAll) {
    this.kickAll = kickAll;
  }

  /** Records how the VM ended (if nothing ended it before) and stops every vCPU. */
  void end(VmEnd how) {
    if (end.compareAndSet(null, how)) {
      ended.countDown();
      synchronized (this) {
        notifyAll();
      }
      kickAll.accept(this);
    }
  }

  boolean isEnding() {
    return end.get() != null;
  }

  VmEnd result() {
    return end.get();
  }

  VmEnd await() throws InterruptedException {
    ended.await();
    return end.get();
  }

  boolean await(long timeout, TimeUnit unit) throws InterruptedException {
    return ended.await(timeout, unit);
  }

  synchronized void pause() {
    paused = true;
    kickAll.accept(this);
  }

  synchronized void resume() {
    paused = false;
    notifyAll();
  }

  synchronized boolean isPaused() {
    return paused;
  }

  /** Blocks a vCPU thread while the VM is paused and not ending. */
  synchronized void awaitRunnable() throws InterruptedException {
    while (paused && end.get() == null) {
      wait();
    }
  }
}

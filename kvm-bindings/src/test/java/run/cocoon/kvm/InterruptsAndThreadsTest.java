package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** irqfd, ioeventfd, vCPU kicks and several vCPUs on their own threads. */
@ExtendWith(KvmAvailable.class)
class InterruptsAndThreadsTest {
  private static final long RAM = 0x10000;
  private static final long CODE = 0x1000;
  private static final long HANDLER = 0x2000;
  /** A guest that never sees its interrupt must not hang the suite: kick it after this. */
  private static final long WATCHDOG_SECONDS = 30;

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  @Test
  void irqfdDeliversAnInterruptToTheGuestHandler() throws Exception {
    try (TinyVm vm = new TinyVm(RAM); EventFd irq = EventFd.create()) {
      vm.vm.createIrqchip();
      vm.vm.registerIrqfd(irq, 4);
      int vector = 0x20 + 4;
      // Real-mode interrupt vector table entry: offset, then segment.
      vm.load(vector * 4L, new byte[] {(byte) HANDLER, (byte) (HANDLER >> 8), 0, 0});
      Asm main = Asm.real(CODE)
          .movAl(0x11).outAl(0x20)   // PIC ICW1: edge triggered, ICW4 follows
          .movAl(0x20).outAl(0x21)   // ICW2: vectors 0x20-0x27
          .movAl(0x04).outAl(0x21)   // ICW3: slave on IRQ2
          .movAl(0x01).outAl(0x21)   // ICW4: 8086 mode
          .movAl(0xef).outAl(0x21)   // OCW1: unmask IRQ4 only
          .outAl(0x10)               // tell the host we are ready
          .sti();
      long loop = main.here();
      main.hlt().jmp(loop);
      vm.load(CODE, main.bytes());
      vm.load(HANDLER, Asm.real(HANDLER)
          .movAl(vector).outAl(0x11)  // report the vector we got
          .movAl(0x20).outAl(0x20)    // end of interrupt
          .iret().bytes());

      VcpuFd v = vm.realModeVcpu(0, CODE);
      v.setLapic(v.getLapic()
          .withRegister(RawState.Lapic.LVT_LINT0, RawState.Lapic.DELIVERY_EXTINT)
          .withRegister(RawState.Lapic.LVT_LINT1, RawState.Lapic.DELIVERY_NMI));
      assertEquals(List.of("out:0x10=0xef"), TinyVm.run(v, p -> 0, 1).events());

      long self = VcpuKick.currentThread();
      timer.schedule(() -> VcpuKick.kick(v, self), WATCHDOG_SECONDS, TimeUnit.SECONDS);
      timer.schedule(() -> irq.write(1), 50, TimeUnit.MILLISECONDS);
      // With the in-kernel irqchip HLT does not exit: the next exit is the handler's report.
      VmExit next = v.run();
      VmExit.Io io = assertInstanceOf(VmExit.Io.class, next,
          "expected the interrupt handler's OUT, got " + next);
      assertEquals(0x11, io.port());
      assertEquals(vector, io.value());
    }
  }

  @Test
  void ioeventfdIsSignalledWithoutAnExit() {
    try (TinyVm vm = new TinyVm(RAM); EventFd notify = EventFd.createNonBlocking()) {
      vm.vm.registerIoeventfd(notify, 0x500, 1, true, null);
      vm.load(CODE, Asm.real(CODE).movDx(0x500).movAl(1).outDxAl().outAl(0x10).hlt().bytes());
      TinyVm.Trace t = TinyVm.run(vm.realModeVcpu(0, CODE), p -> 0, 100);
      assertEquals(List.of("out:0x10=0x1"), t.events(), "the write to 0x500 must not exit");
      assertEquals(1, notify.read());
      vm.vm.unregisterIoeventfd(notify, 0x500, 1, true, null);
    }
  }

  @Test
  void ioeventfdWithDatamatchOnlyMatchesThatValue() {
    try (TinyVm vm = new TinyVm(RAM); EventFd notify = EventFd.createNonBlocking()) {
      vm.vm.registerIoeventfd(notify, 0x500, 1, true, 7L);
      vm.load(CODE, Asm.real(CODE).movDx(0x500).movAl(3).outDxAl().movAl(7).outDxAl().hlt().bytes());
      TinyVm.Trace t = TinyVm.run(vm.realModeVcpu(0, CODE), p -> 0, 100);
      assertEquals(List.of("out:0x500=0x3"), t.events(), "value 3 exits, value 7 is consumed");
      assertEquals(1, notify.read());
    }
  }

  @Test
  void aVcpuSpinningInKvmRunIsKickedFromAnotherThread() throws Exception {
    try (TinyVm vm = new TinyVm(RAM)) {
      vm.load(CODE, Asm.real(CODE).spin().bytes());
      VcpuFd v = vm.realModeVcpu(0, CODE);
      CompletableFuture<Long> thread = new CompletableFuture<>();
      CompletableFuture<VmExit> result = new CompletableFuture<>();
      Thread t = Thread.ofPlatform().name("vcpu-0").start(() -> {
        thread.complete(VcpuKick.currentThread());
        try {
          result.complete(v.run());
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
      long handle = thread.get(10, TimeUnit.SECONDS);
      Thread.sleep(200); // let it enter KVM_RUN and spin there
      assertTrue(!result.isDone(), "the spinning guest must not exit by itself");
      long start = System.nanoTime();
      VcpuKick.kick(v, handle);
      assertInstanceOf(VmExit.Interrupted.class, result.get(10, TimeUnit.SECONDS));
      long micros = (System.nanoTime() - start) / 1000;
      System.out.println("kick to KVM_RUN return: " + micros + " us");
      t.join(10_000);
      v.setImmediateExit(false);
    }
  }

  @Test
  void immediateExitStopsTheNextRunBeforeTheGuestExecutes() {
    try (TinyVm vm = new TinyVm(RAM)) {
      vm.load(CODE, Asm.real(CODE).outAl(0x10).hlt().bytes());
      VcpuFd v = vm.realModeVcpu(0, CODE);
      v.setImmediateExit(true);
      assertInstanceOf(VmExit.Interrupted.class, v.run());
      assertEquals(CODE, v.getRegs().rip(), "no instruction ran");
      v.setImmediateExit(false);
      assertEquals(List.of("out:0x10=0x0"), TinyVm.run(v, p -> 0, 10).events());
    }
  }

  @Test
  void twoVcpusRunConcurrentlyOnTheirOwnThreads() throws Exception {
    try (TinyVm vm = new TinyVm(RAM)) {
      long code1 = CODE + 0x100;
      vm.load(CODE, Asm.real(CODE).movAl(0xa0).outAl(0x10).hlt().bytes());
      vm.load(code1, Asm.real(code1).movAl(0xa1).outAl(0x10).hlt().bytes());
      VcpuFd v0 = vm.realModeVcpu(0, CODE);
      VcpuFd v1 = vm.realModeVcpu(1, code1);
      CompletableFuture<TinyVm.Trace> t0 = new CompletableFuture<>();
      CompletableFuture<TinyVm.Trace> t1 = new CompletableFuture<>();
      Thread.ofPlatform().start(() -> t0.complete(TinyVm.run(v0, p -> 0, 10)));
      Thread.ofPlatform().start(() -> t1.complete(TinyVm.run(v1, p -> 0, 10)));
      TinyVm.Trace r0 = t0.get(60, TimeUnit.SECONDS);
      TinyVm.Trace r1 = t1.get(60, TimeUnit.SECONDS);
      assertEquals(List.of("out:0x10=0xa0"), r0.events());
      assertEquals(List.of("out:0x10=0xa1"), r1.events());
      assertInstanceOf(VmExit.Hlt.class, r0.last());
      assertInstanceOf(VmExit.Hlt.class, r1.last());
    }
  }
}

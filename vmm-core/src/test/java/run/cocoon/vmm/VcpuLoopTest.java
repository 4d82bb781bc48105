package run.cocoon.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import run.cocoon.kvm.Errno;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Sregs;
import run.cocoon.kvm.SyscallException;
import run.cocoon.kvm.VmExit;
import run.cocoon.vmm.devices.IoBus;
import run.cocoon.vmm.devices.MmioBus;
import run.cocoon.vmm.devices.PioDevice;

/** The vCPU loop driven by scripted KVM_RUN results: retries, the failure cap, ends, pauses. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VcpuLoopTest {
  private static final VmExit POWER_OFF =
      new VmExit.SystemEvent(VmExit.SystemEvent.SHUTDOWN, new long[0]);

  /** A vCPU whose KVM_RUN answers from a script; past its end it powers off, or as told. */
  private static final class ScriptedVcpu implements Vcpu {
    final Deque<Supplier<VmExit>> script = new ArrayDeque<>();
    Supplier<VmExit> afterScript = () -> POWER_OFF;
    int runs;
    final List<Boolean> immediateExits = new ArrayList<>();

    ScriptedVcpu then(int times, Supplier<VmExit> step) {
      for (int i = 0; i < times; i++) {
        script.add(step);
      }
      return this;
    }

    ScriptedVcpu fail(int times, int errno) {
      return then(times, () -> {
        throw new SyscallException("KVM_RUN", errno);
      });
    }

    @Override
    public int id() {
      return 0;
    }

    @Override
    public synchronized VmExit run() {
      runs++;
      Supplier<VmExit> next = script.poll();
      return next == null ? afterScript.get() : next.get();
    }

    @Override
    public synchronized void setImmediateExit(boolean value) {
      immediateExits.add(value);
    }

    @Override
    public void kick(long thread) {}

    @Override
    public Regs registers() {
      throw new SyscallException("KVM_GET_REGS", Errno.EINVAL);
    }

    @Override
    public Sregs specialRegisters() {
      throw new SyscallException("KVM_GET_SREGS", Errno.EINVAL);
    }
  }

  private final IoBus io = new IoBus();
  private final MmioBus mmio = new MmioBus();

  private VmEnd run(ScriptedVcpu vcpu) throws InterruptedException {
    VmControl control = new VmControl(c -> {});
    Thread t = Thread.ofPlatform().start(new VcpuLoop(vcpu, control, io, mmio));
    t.join(Duration.ofSeconds(30));
    assertTrue(!t.isAlive(), "the vCPU thread ended");
    return control.result();
  }

  @Test
  void anEintrAndEagainStormJustUnderTheCapIsRetried() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu()
        .fail(VcpuLoop.TRANSIENT_FAILURES_MAX / 2, Errno.EINTR)
        .fail(VcpuLoop.TRANSIENT_FAILURES_MAX / 2 - 1, Errno.EAGAIN);
    assertInstanceOf(VmEnd.PoweredOff.class, run(vcpu));
    assertEquals(VcpuLoop.TRANSIENT_FAILURES_MAX, vcpu.runs);
  }

  @Test
  void theCapOfConsecutiveTransientFailuresStopsTheVmAsCrashed() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu().fail(VcpuLoop.TRANSIENT_FAILURES_MAX, Errno.EAGAIN);
    VmEnd end = run(vcpu);
    VmEnd.Crashed crashed = assertInstanceOf(VmEnd.Crashed.class, end);
    assertTrue(crashed.reason().contains("EAGAIN"), crashed.reason());
    assertEquals(VcpuLoop.TRANSIENT_FAILURES_MAX, vcpu.runs, "no run after the cap");
  }

  @Test
  void anExitBetweenStormsResetsTheCount() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu()
        .fail(VcpuLoop.TRANSIENT_FAILURES_MAX - 1, Errno.EINTR)
        .then(1, VmExit.Hlt::new)
        .fail(VcpuLoop.TRANSIENT_FAILURES_MAX - 1, Errno.EINTR);
    assertInstanceOf(VmEnd.PoweredOff.class, run(vcpu));
  }

  @Test
  void anyOtherFailureOfKvmRunCrashesAtOnce() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu().fail(1, Errno.EFAULT);
    VmEnd.Crashed crashed = assertInstanceOf(VmEnd.Crashed.class, run(vcpu));
    assertTrue(crashed.reason().contains("EFAULT"), crashed.reason());
    assertEquals(1, vcpu.runs);
  }

  @Test
  void aDeviceThatThrowsCrashesTheVmNotTheHost() throws Exception {
    io.register(0x99, 1, new PioDevice() {
      @Override
      public int read(int offset, int size) {
        throw new IllegalStateException("broken device");
      }

      @Override
      public void write(int offset, int size, int value) {}
    });
    try (Arena arena = Arena.ofShared()) {
      MemorySegment data = arena.allocate(1);
      ScriptedVcpu vcpu = new ScriptedVcpu().then(1, () -> new VmExit.Io(false, 1, 0x99, 1, data));
      VmEnd.Crashed crashed = assertInstanceOf(VmEnd.Crashed.class, run(vcpu));
      assertTrue(crashed.reason().contains("broken device"), crashed.reason());
    }
  }

  @Test
  void aTripleFaultEndsTheVmWithTheRegistersUnreadable() throws Exception {
    VmEnd.Crashed crashed = assertInstanceOf(VmEnd.Crashed.class,
        run(new ScriptedVcpu().then(1, VmExit.Shutdown::new)));
    assertTrue(crashed.reason().contains("triple fault"), crashed.reason());
  }

  @Test
  void anInterruptedRunClearsImmediateExitAndGoesOn() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu().then(3, VmExit.Interrupted::new);
    assertInstanceOf(VmEnd.PoweredOff.class, run(vcpu));
    assertEquals(List.of(false, false, false), vcpu.immediateExits);
  }

  @Test
  void aPausedVmRunsNothingUntilResumedAndAStopWhilePausedEndsIt() throws Exception {
    ScriptedVcpu vcpu = new ScriptedVcpu();
    vcpu.afterScript = VmExit.Hlt::new; // a guest that halts and wakes for as long as it runs
    VmControl control = new VmControl(c -> {});
    control.pause();
    Thread t = Thread.ofPlatform().start(new VcpuLoop(vcpu, control, io, mmio));
    Thread.sleep(200);
    synchronized (vcpu) {
      assertEquals(0, vcpu.runs, "nothing runs while paused");
    }
    control.resume();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      synchronized (vcpu) {
        if (vcpu.runs > 0) {
          break;
        }
      }
      assertTrue(System.nanoTime() < deadline, "runs after resume");
      Thread.sleep(5);
    }
    control.pause();
    control.end(new VmEnd.Stopped("test"));
    t.join(Duration.ofSeconds(20));
    assertTrue(!t.isAlive());
    assertInstanceOf(VmEnd.Stopped.class, control.result());
  }
}

package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The libc layer on its own; runs everywhere, KVM or not. */
class LibcTest {
  @Test
  void anonymousMappingIsUsableAndSized() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment m = Libc.mmapAnonymous(1 << 20, arena);
      assertEquals(1 << 20, m.byteSize());
      m.set(JAVA_LONG, (1 << 20) - 8, 42);
      assertEquals(42, m.get(JAVA_LONG, (1 << 20) - 8));
      assertEquals(0, m.address() % 4096);
    }
  }

  @Test
  void eventfdCountsAndResets() {
    try (EventFd e = EventFd.createNonBlocking()) {
      assertEquals(0, e.read());
      e.write(2);
      e.write(3);
      assertEquals(5, e.read());
      assertEquals(0, e.read());
    }
  }

  @Test
  void failuresCarryTheCallAndErrno() {
    SyscallException e = assertThrows(SyscallException.class,
        () -> Libc.open("/nonexistent/cocoon-test", Libc.O_RDONLY));
    assertEquals("open", e.call());
    assertEquals(Errno.ENOENT, e.errno());
    assertEquals("ENOENT", e.errnoName());
    SyscallException closed = assertThrows(SyscallException.class, () -> Libc.close(-1));
    assertEquals(Errno.EBADF, closed.errno());
  }

  @Test
  void kickSignalIsARealTimeSignalWithAHandler() {
    int signal = VcpuKick.signal();
    assertTrue(signal >= 32 && signal <= 64, "signal " + signal);
    // With the no-op handler installed, a kick to ourselves must not kill the JVM.
    Libc.pthreadKill(VcpuKick.currentThread(), signal);
  }

  @Test
  void unavailabilityIsExplained() {
    if (!Kvm.isAvailable()) {
      assertTrue(Kvm.unavailabilityCause().contains("/dev/kvm"), Kvm.unavailabilityCause());
    } else {
      assertEquals(null, Kvm.unavailabilityCause());
    }
  }
}

package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Misuse gives an exception naming the call and errno; the JVM survives. */
@ExtendWith(KvmAvailable.class)
class BadUseTest {
  @Test
  void callsOnAClosedVmFailWithEbadf() {
    try (Kvm kvm = Kvm.open()) {
      VmFd vm = kvm.createVm();
      vm.close();
      SyscallException e = assertThrows(SyscallException.class, () -> vm.createVcpu(0));
      assertEquals("KVM_CREATE_VCPU", e.call());
      assertEquals(Errno.EBADF, e.errno());
      assertTrue(e.getMessage().contains("KVM_CREATE_VCPU") && e.getMessage().contains("EBADF"),
          e.getMessage());
      vm.close(); // closing twice is harmless
    }
  }

  @Test
  void anUnknownIoctlFailsWithItsName() {
    try (Kvm kvm = Kvm.open()) {
      long bogus = 0xAE00 | 0xff; // _IO(KVMIO, 0xff): no such KVM ioctl
      SyscallException e = assertThrows(SyscallException.class,
          () -> Libc.ioctl(kvm.fd(), "KVM_BOGUS", bogus, 0));
      assertEquals("KVM_BOGUS", e.call());
      assertTrue(e.errno() == Errno.ENOTTY || e.errno() == Errno.EINVAL, e.getMessage());
    }
  }

  @Test
  void vcpuIoctlsOnAVmFdAreRejected() {
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm()) {
      SyscallException e = assertThrows(SyscallException.class,
          () -> Libc.ioctl(vm.fd(), KvmIoctl.KVM_RUN.name(), KvmIoctl.KVM_RUN.request(), 0));
      assertEquals("KVM_RUN", e.call());
      assertTrue(e.errno() == Errno.ENOTTY || e.errno() == Errno.EINVAL, e.getMessage());
    }
  }

  @Test
  void overlappingMemoryRegionsAreRefused() {
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofConfined()) {
      MemorySegment a = Libc.mmapAnonymous(0x10000, arena);
      MemorySegment b = Libc.mmapAnonymous(0x10000, arena);
      vm.setUserMemoryRegion(new MemoryRegion(0, 0, 0, 0x10000, a.address()));
      SyscallException e = assertThrows(SyscallException.class,
          () -> vm.setUserMemoryRegion(new MemoryRegion(1, 0, 0x8000, 0x10000, b.address())));
      assertEquals("KVM_SET_USER_MEMORY_REGION", e.call());
      assertEquals(Errno.EEXIST, e.errno());
    }
  }

  @Test
  void misalignedMemoryRegionIsRefused() {
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofConfined()) {
      MemorySegment a = Libc.mmapAnonymous(0x10000, arena);
      SyscallException e = assertThrows(SyscallException.class,
          () -> vm.setUserMemoryRegion(new MemoryRegion(0, 0, 0x123, 0x1000, a.address())));
      assertEquals(Errno.EINVAL, e.errno());
    }
  }

  @Test
  void duplicateVcpuIdIsRefused() {
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); VcpuFd v = vm.createVcpu(0)) {
      SyscallException e = assertThrows(SyscallException.class, () -> vm.createVcpu(0));
      assertEquals(Errno.EEXIST, e.errno());
      assertEquals(0, v.id());
    }
  }
}

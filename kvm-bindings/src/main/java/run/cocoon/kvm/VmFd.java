package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/** A virtual machine file descriptor: memory slots, vCPUs, in-kernel devices, irqfd, ioeventfd. */
public final class VmFd implements AutoCloseable {
  /** KVM_PIT_SPEAKER_DUMMY: a PIT whose speaker port reads as a constant. */
  public static final int PIT_SPEAKER_DUMMY = 1;
  private static final int IRQFD_FLAG_DEASSIGN = 1;
  private static final int IOEVENTFD_FLAG_DATAMATCH = 1;
  private static final int IOEVENTFD_FLAG_PIO = 2;
  private static final int IOEVENTFD_FLAG_DEASSIGN = 4;

  private final OwnedFd fd;
  private final int vcpuMmapSize;

  VmFd(int fd, int vcpuMmapSize) {
    this.fd = new OwnedFd(fd);
    this.vcpuMmapSize = vcpuMmapSize;
  }

  /** The raw descriptor. */
  public int fd() {
    return fd.get();
  }

  /** KVM_CHECK_EXTENSION on this VM (some answers differ per VM type). */
  public int checkExtension(int capability) {
    return fd.ioctl(KvmIoctl.KVM_CHECK_EXTENSION, capability);
  }

  /** KVM_CREATE_VCPU, then maps its {@code kvm_run} area. */
  public VcpuFd createVcpu(int id) {
    int vcpu = fd.ioctl(KvmIoctl.KVM_CREATE_VCPU, id);
    return new VcpuFd(vcpu, id, vcpuMmapSize);
  }

  /** KVM_SET_USER_MEMORY_REGION. */
  public void setUserMemoryRegion(MemoryRegion region) {
    StructLayout l = Layouts.KVM_USERSPACE_MEMORY_REGION;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(l);
      s.set(JAVA_INT, Layouts.offset(l, "slot"), region.slot());
      s.set(JAVA_INT, Layouts.offset(l, "flags"), region.flags());
      s.set(JAVA_LONG, Layouts.offset(l, "guest_phys_addr"), region.guestPhysAddr());
      s.set(JAVA_LONG, Layouts.offset(l, "memory_size"), region.size());
      s.set(JAVA_LONG, Layouts.offset(l, "userspace_addr"), region.userspaceAddr());
      fd.ioctl(KvmIoctl.KVM_SET_USER_MEMORY_REGION, s);
    }
  }

  /** KVM_SET_TSS_ADDR: three pages of guest-physical space Intel VMX needs for real mode. */
  public void setTssAddress(long address) {
    fd.ioctl(KvmIoctl.KVM_SET_TSS_ADDR, address);
  }

  /** KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map used in unpaged modes. */
  public void setIdentityMapAddress(long address) {
    try (Arena arena = Arena.ofConfined()) {
      fd.ioctl(KvmIoctl.KVM_SET_IDENTITY_MAP_ADDR, arena.allocateFrom(JAVA_LONG, address));
    }
  }

  /** KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs. */
  public void createIrqchip() {
    fd.ioctl(KvmIoctl.KVM_CREATE_IRQCHIP, 0);
  }

  /** KVM_CREATE_PIT2: in-kernel i8254 timer. */
  public void createPit2(int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_PIT_CONFIG);
      s.set(JAVA_INT, 0, flags);
      fd.ioctl(KvmIoctl.KVM_CREATE_PIT2, s);
    }
  }

  /** KVM_IRQ_LINE: sets the level of an interrupt line of the in-kernel irqchip. */
  public void irqLine(int irq, boolean high) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_IRQ_LEVEL);
      s.set(JAVA_INT, 0, irq);
      s.set(JAVA_INT, 4, high ? 1 : 0);
      fd.ioctl(KvmIoctl.KVM_IRQ_LINE, s);
    }
  }

  /** KVM_IRQFD: a write to {@code event} raises {@code gsi} without any user-space exit. */
  public void registerIrqfd(EventFd event, int gsi) {
    irqfd(event, gsi, 0);
  }

  /** KVM_IRQFD with KVM_IRQFD_FLAG_DEASSIGN. */
  public void unregisterIrqfd(EventFd event, int gsi) {
    irqfd(event, gsi, IRQFD_FLAG_DEASSIGN);
  }

  private void irqfd(EventFd event, int gsi, int flags) {
    StructLayout l = Layouts.KVM_IRQFD;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(l);
      s.set(JAVA_INT, Layouts.offset(l, "fd"), event.fd());
      s.set(JAVA_INT, Layouts.offset(l, "gsi"), gsi);
      s.set(JAVA_INT, Layouts.offset(l, "flags"), flags);
      fd.ioctl(KvmIoctl.KVM_IRQFD, s);
    }
  }

  /**
   * KVM_IOEVENTFD: a guest write of {@code length} bytes to {@code address} (a port when
   * {@code pio}) signals {@code event} inside the kernel; the vCPU does not exit to user space.
   * With {@code datamatch} non-null only writes of that value match.
   */
  public void registerIoeventfd(EventFd event, long address, int length, boolean pio, Long datamatch) {
    ioeventfd(event, address, length, pio, datamatch, 0);
  }

  /** KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DEASSIGN; arguments as registered. */
  public void unregisterIoeventfd(EventFd event, long address, int length, boolean pio, Long datamatch) {
    ioeventfd(event, address, length, pio, datamatch, IOEVENTFD_FLAG_DEASSIGN);
  }

  private void ioeventfd(EventFd event, long address, int length, boolean pio, Long datamatch,
      int extraFlags) {
    StructLayout l = Layouts.KVM_IOEVENTFD;
    int flags = extraFlags | (pio ? IOEVENTFD_FLAG_PIO : 0)
        | (datamatch != null ? IOEVENTFD_FLAG_DATAMATCH : 0);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(l);
      s.set(JAVA_LONG, Layouts.offset(l, "datamatch"), datamatch == null ? 0 : datamatch);
      s.set(JAVA_LONG, Layouts.offset(l, "addr"), address);
      s.set(JAVA_INT, Layouts.offset(l, "len"), length);
      s.set(JAVA_INT, Layouts.offset(l, "fd"), event.fd());
      s.set(JAVA_INT, Layouts.offset(l, "flags"), flags);
      fd.ioctl(KvmIoctl.KVM_IOEVENTFD, s);
    }
  }

  /** The guest's kvmclock value ({@code struct kvm_clock_data}). */
  public record Clock(long clockNanos, int flags) {}

  /** KVM_GET_CLOCK. */
  public Clock getClock() {
    StructLayout l = Layouts.KVM_CLOCK_DATA;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(l);
      fd.ioctl(KvmIoctl.KVM_GET_CLOCK, s);
      return new Clock(s.get(JAVA_LONG, Layouts.offset(l, "clock")),
          s.get(JAVA_INT, Layouts.offset(l, "flags")));
    }
  }

  /** KVM_SET_CLOCK (flags are not passed back: the kernel only accepts a subset). */
  public void setClock(long clockNanos) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_CLOCK_DATA);
      s.set(JAVA_LONG, Layouts.offset(Layouts.KVM_CLOCK_DATA, "clock"), clockNanos);
      fd.ioctl(KvmIoctl.KVM_SET_CLOCK, s);
    }
  }

  @Override
  public void close() {
    fd.close();
  }
}

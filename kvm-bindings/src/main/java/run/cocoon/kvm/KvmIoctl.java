package run.cocoon.kvm;

/**
 * Every KVM ioctl the bindings issue, with its request number computed the way
 * {@code <asm-generic/ioctl.h>} does: {@code dir << 30 | size << 16 | 0xAE << 8 | nr}. The struct
 * sizes encoded here are checked against the kernel headers by the layout test.
 */
public enum KvmIoctl {
  // System ioctls (on the /dev/kvm fd).
  KVM_GET_API_VERSION(none(0x00)),
  KVM_CREATE_VM(none(0x01)),
  KVM_GET_MSR_INDEX_LIST(readWrite(0x02, 4)),
  KVM_CHECK_EXTENSION(none(0x03)),
  KVM_GET_VCPU_MMAP_SIZE(none(0x04)),
  KVM_GET_SUPPORTED_CPUID(readWrite(0x05, 8)),

  // VM ioctls.
  KVM_CREATE_VCPU(none(0x41)),
  KVM_SET_USER_MEMORY_REGION(write(0x46, 32)),
  KVM_SET_TSS_ADDR(none(0x47)),
  KVM_SET_IDENTITY_MAP_ADDR(write(0x48, 8)),
  KVM_CREATE_IRQCHIP(none(0x60)),
  KVM_IRQ_LINE(write(0x61, 8)),
  KVM_IRQFD(write(0x76, 32)),
  KVM_CREATE_PIT2(write(0x77, 64)),
  KVM_IOEVENTFD(write(0x79, 64)),
  KVM_SET_CLOCK(write(0x7b, 48)),
  KVM_GET_CLOCK(read(0x7c, 48)),

  // vCPU ioctls.
  KVM_RUN(none(0x80)),
  KVM_GET_REGS(read(0x81, 144)),
  KVM_SET_REGS(write(0x82, 144)),
  KVM_GET_SREGS(read(0x83, 312)),
  KVM_SET_SREGS(write(0x84, 312)),
  KVM_GET_MSRS(readWrite(0x88, 8)),
  KVM_SET_MSRS(write(0x89, 8)),
  KVM_GET_FPU(read(0x8c, 416)),
  KVM_SET_FPU(write(0x8d, 416)),
  KVM_GET_LAPIC(read(0x8e, 1024)),
  KVM_SET_LAPIC(write(0x8f, 1024)),
  KVM_SET_CPUID2(write(0x90, 8)),
  KVM_GET_CPUID2(readWrite(0x91, 8)),
  KVM_GET_MP_STATE(read(0x98, 4)),
  KVM_SET_MP_STATE(write(0x99, 4)),
  KVM_GET_VCPU_EVENTS(read(0x9f, 64)),
  KVM_SET_VCPU_EVENTS(write(0xa0, 64)),
  KVM_GET_XSAVE(read(0xa4, 4096)),
  KVM_SET_XSAVE(write(0xa5, 4096)),
  KVM_GET_XCRS(read(0xa6, 392)),
  KVM_SET_XCRS(write(0xa7, 392));

  private static final int KVMIO = 0xAE;
  private static final long DIR_NONE = 0;
  private static final long DIR_WRITE = 1;
  private static final long DIR_READ = 2;

  private final long request;

  KvmIoctl(long request) {
    this.request = request;
  }

  /** The request number passed to ioctl(2). */
  public long request() {
    return request;
  }

  private static long encode(long dir, int nr, int size) {
    return dir << 30 | (long) size << 16 | (long) KVMIO << 8 | nr;
  }

  private static long none(int nr) {
    return encode(DIR_NONE, nr, 0);
  }

  private static long read(int nr, int size) {
    return encode(DIR_READ, nr, size);
  }

  private static long write(int nr, int size) {
    return encode(DIR_WRITE, nr, size);
  }

  private static long readWrite(int nr, int size) {
    return encode(DIR_READ | DIR_WRITE, nr, size);
  }
}

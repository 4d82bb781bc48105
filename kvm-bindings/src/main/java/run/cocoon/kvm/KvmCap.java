package run.cocoon.kvm;

/** {@code KVM_CAP_*} numbers for {@link Kvm#checkExtension} and {@link VmFd#checkExtension}. */
public final class KvmCap {
  public static final int IRQCHIP = 0;
  public static final int HLT = 1;
  public static final int USER_MEMORY = 3;
  public static final int SET_TSS_ADDR = 4;
  public static final int EXT_CPUID = 7;
  public static final int NR_VCPUS = 9;
  public static final int NR_MEMSLOTS = 10;
  public static final int PIT = 11;
  public static final int MP_STATE = 14;
  public static final int IRQFD = 32;
  public static final int PIT2 = 33;
  public static final int IOEVENTFD = 36;
  public static final int SET_IDENTITY_MAP_ADDR = 37;
  public static final int ADJUST_CLOCK = 39;
  public static final int VCPU_EVENTS = 41;
  public static final int XSAVE = 55;
  public static final int XCRS = 56;
  public static final int MAX_VCPUS = 66;
  public static final int TSC_DEADLINE_TIMER = 72;
  public static final int IMMEDIATE_EXIT = 136;

  private KvmCap() {}
}

package run.cocoon.kvm;

/** A vCPU's multiprocessing state ({@code KVM_MP_STATE_*}), in kernel numbering order. */
public enum MpState {
  RUNNABLE, UNINITIALIZED, INIT_RECEIVED, HALTED, SIPI_RECEIVED, STOPPED, CHECK_STOP, OPERATING,
  LOAD, AP_RESET_HOLD, SUSPENDED;

  static MpState of(int value) {
    MpState[] all = values();
    if (value < 0 || value >= all.length) {
      throw new IllegalArgumentException("unknown KVM_MP_STATE " + value);
    }
    return all[value];
  }
}

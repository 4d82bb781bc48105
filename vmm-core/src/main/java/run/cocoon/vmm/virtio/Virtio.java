package run.cocoon.vmm.virtio;

/** Constants of the virtio 1.x specification that the transport and every device share. */
public final class Virtio {
  // Device IDs (virtio 1.2, section 5).
  public static final int ID_NET = 1;
  public static final int ID_BLOCK = 2;
  public static final int ID_RNG = 4;
  public static final int ID_VSOCK = 19;

  // Device status bits (section 2.1).
  public static final int STATUS_ACKNOWLEDGE = 1;
  public static final int STATUS_DRIVER = 2;
  public static final int STATUS_DRIVER_OK = 4;
  public static final int STATUS_FEATURES_OK = 8;
  public static final int STATUS_DEVICE_NEEDS_RESET = 64;
  public static final int STATUS_FAILED = 128;

  // Reserved feature bits (section 6).
  /** Indirect descriptor tables. */
  public static final int F_INDIRECT_DESC = 28;
  /** used_event / avail_event notification suppression. */
  public static final int F_EVENT_IDX = 29;
  /** A modern (1.x) device: mandatory for virtio-mmio version 2. */
  public static final int F_VERSION_1 = 32;

  // Interrupt status bits (section 4.2.2).
  public static final int INTERRUPT_USED_BUFFER = 1;
  public static final int INTERRUPT_CONFIG_CHANGE = 2;

  private Virtio() {}

  /** The feature word with {@code bit} set. */
  public static long bit(int bit) {
    return 1L << bit;
  }
}

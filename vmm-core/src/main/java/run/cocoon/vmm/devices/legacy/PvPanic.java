package run.cocoon.vmm.devices.legacy;

import run.cocoon.vmm.devices.PioDevice;

/**
 * The pvpanic device: the guest kernel's pvpanic driver (found through the DSDT) writes
 * "panicked" here from its panic notifier, before any reboot, so a panic is reported as a crash
 * and not mistaken for a reboot. Reading returns the events the device supports.
 */
public final class PvPanic implements PioDevice {
  /** One port. */
  public static final int PORT_COUNT = 1;
  /** Event bit: the guest panicked. */
  public static final int PANICKED = 1;
  /** Event bit: a crash dump was loaded (we treat it as a panic as well). */
  public static final int CRASH_LOADED = 2;

  private final PlatformEvents events;

  public PvPanic(PlatformEvents events) {
    this.events = events;
  }

  @Override
  public int read(int offset, int size) {
    return PANICKED | CRASH_LOADED;
  }

  @Override
  public void write(int offset, int size, int value) {
    if ((value & (PANICKED | CRASH_LOADED)) != 0) {
      events.panic();
    }
  }
}

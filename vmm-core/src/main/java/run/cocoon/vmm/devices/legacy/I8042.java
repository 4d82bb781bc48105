package run.cocoon.vmm.devices.legacy;

import run.cocoon.vmm.devices.PioDevice;

/**
 * Just enough of the PC keyboard controller for a guest to reset the machine: the status port
 * reports empty buffers and command 0xfe (pulse the reset line) resets. Registered over ports
 * 0x60-0x64 (offset 0 is the data port, 4 the command/status port).
 */
public final class I8042 implements PioDevice {
  /** Ports claimed from 0x60: data at offset 0, command/status at offset 4. */
  public static final int PORT_COUNT = 5;
  private static final int DATA = 0;
  private static final int COMMAND = 4;
  private static final int COMMAND_PULSE_RESET = 0xfe;

  private final PlatformEvents events;

  public I8042(PlatformEvents events) {
    this.events = events;
  }

  @Override
  public int read(int offset, int size) {
    // Data port: nothing; status: output and input buffers empty. Offsets 1-3 are not ours
    // (port 0x61 belongs to the in-kernel PIT), they read as an empty bus.
    return offset == DATA || offset == COMMAND ? 0 : 0xff;
  }

  @Override
  public void write(int offset, int size, int value) {
    if (offset == COMMAND && (value & 0xff) == COMMAND_PULSE_RESET) {
      events.reset();
    }
  }
}

package run.cocoon.vmm.devices.legacy;

import run.cocoon.vmm.devices.PioDevice;
import run.cocoon.vmm.layout.Ports;

/**
 * The hardware-reduced ACPI registers the FADT announces: sleep control (writing SLP_EN with the
 * \_S5 sleep type powers off), sleep status, and the reset register. Registered over three ports
 * from {@link Ports#ACPI_SLEEP_CONTROL}.
 */
public final class AcpiPowerPorts implements PioDevice {
  /** Ports claimed: sleep control, sleep status, reset. */
  public static final int PORT_COUNT = 3;
  private static final int SLEEP_CONTROL = Ports.ACPI_SLEEP_CONTROL - Ports.ACPI_SLEEP_CONTROL;
  private static final int RESET = Ports.ACPI_RESET - Ports.ACPI_SLEEP_CONTROL;
  /** Sleep control register: SLP_TYP in bits 2-4, SLP_EN in bit 5. */
  private static final int SLP_EN = 1 << 5;
  private static final int SLP_TYP_SHIFT = 2;
  private static final int SLP_TYP_MASK = 0x7;

  private final PlatformEvents events;

  public AcpiPowerPorts(PlatformEvents events) {
    this.events = events;
  }

  @Override
  public int read(int offset, int size) {
    return 0; // nothing pending; no wake status
  }

  @Override
  public void write(int offset, int size, int value) {
    if (offset == SLEEP_CONTROL && (value & SLP_EN) != 0
        && ((value >>> SLP_TYP_SHIFT) & SLP_TYP_MASK) == Ports.ACPI_S5_SLEEP_TYPE) {
      events.powerOff();
    } else if (offset == RESET && (value & 0xff) == Ports.ACPI_RESET_VALUE) {
      events.reset();
    }
  }
}

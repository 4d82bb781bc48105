package run.cocoon.vmm.layout;

/** The x86 I/O port map of every cocoon VM, one constant per port the VMM or KVM serves. */
public final class Ports {
  /** COM1 8250 UART, 8 ports from here; interrupt line {@link #COM1_IRQ}. */
  public static final int COM1_BASE = 0x3f8;
  /** COM1's ISA interrupt line. */
  public static final int COM1_IRQ = 4;
  /** i8042 data port. */
  public static final int I8042_DATA = 0x60;
  /** i8042 command/status port; command 0xfe pulses the CPU reset line. */
  public static final int I8042_COMMAND = 0x64;
  /** ACPI hardware-reduced sleep control register (FADT SLEEP_CONTROL_REG), one byte. */
  public static final int ACPI_SLEEP_CONTROL = 0x600;
  /** ACPI hardware-reduced sleep status register (FADT SLEEP_STATUS_REG), one byte. */
  public static final int ACPI_SLEEP_STATUS = 0x601;
  /** ACPI reset register (FADT RESET_REG), one byte; writing {@link #ACPI_RESET_VALUE} resets. */
  public static final int ACPI_RESET = 0x602;
  /** The value the guest writes to {@link #ACPI_RESET}. */
  public static final int ACPI_RESET_VALUE = 0x01;
  /** pvpanic: the guest's panic notifier writes here (DSDT device QEMU0001), one byte. */
  public static final int PVPANIC = 0x505;
  /** Sleep type the DSDT's \_S5 object declares for soft-off. */
  public static final int ACPI_S5_SLEEP_TYPE = 5;

  private Ports() {}
}

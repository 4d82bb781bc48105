package run.cocoon.vmm.devices.legacy;

/** How platform devices tell the VM that the guest wants it to end. */
public interface PlatformEvents {
  /** The guest powered off (ACPI S5). */
  void powerOff();

  /** The guest reset the machine (i8042 pulse, ACPI reset register). */
  void reset();

  /** The guest kernel panicked (pvpanic). */
  void panic();
}

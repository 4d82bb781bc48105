package run.cocoon.vmm.devices;

/**
 * A device on the MMIO bus. {@code offset} is relative to the device's base address; {@code size}
 * is 1 to 8. Called on vCPU threads: implementations must not block.
 */
public interface MmioDevice {
  /** The value the guest reads, zero-extended. */
  long read(long offset, int size);

  /** A guest write. */
  void write(long offset, int size, long value);
}

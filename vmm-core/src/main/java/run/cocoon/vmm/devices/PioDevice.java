package run.cocoon.vmm.devices;

/**
 * A device on the I/O port bus. {@code offset} is relative to the device's base port; {@code size}
 * is 1, 2 or 4. Called on vCPU threads: implementations must not block.
 */
public interface PioDevice {
  /** The value the guest reads. */
  int read(int offset, int size);

  /** A guest write. */
  void write(int offset, int size, int value);
}

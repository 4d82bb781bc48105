package run.cocoon.vmm.virtio;

/**
 * What the driver wrote for one queue before setting it ready.
 *
 * @param size number of descriptors (QueueNum)
 * @param descriptorTable guest address of the descriptor table (QueueDesc)
 * @param availRing guest address of the driver area (QueueDriver)
 * @param usedRing guest address of the device area (QueueDevice)
 */
public record QueueConfig(int size, long descriptorTable, long availRing, long usedRing) {
  /** Descriptor table alignment (virtio 1.2, 2.7.2). */
  public static final int DESCRIPTOR_ALIGN = 16;
  /** Available ring alignment. */
  public static final int AVAIL_ALIGN = 2;
  /** Used ring alignment. */
  public static final int USED_ALIGN = 4;

  /** Bytes of the descriptor table. */
  public long descriptorTableBytes() {
    return 16L * size;
  }

  /** Bytes of the available ring, used_event included. */
  public long availRingBytes() {
    return 6L + 2L * size;
  }

  /** Bytes of the used ring, avail_event included. */
  public long usedRingBytes() {
    return 6L + 8L * size;
  }
}

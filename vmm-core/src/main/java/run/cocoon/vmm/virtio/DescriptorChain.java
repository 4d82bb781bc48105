package run.cocoon.vmm.virtio;

import java.util.List;

/**
 * A request popped from a virtqueue: the head index (returned with the used element) and its
 * buffers in chain order, indirect tables already flattened.
 */
public record DescriptorChain(int head, List<Descriptor> descriptors) {
  public DescriptorChain {
    descriptors = List.copyOf(descriptors);
  }

  /** The device-readable buffers, in order. */
  public List<Descriptor> readable() {
    return descriptors.stream().filter(d -> !d.writable()).toList();
  }

  /** The device-writable buffers, in order. */
  public List<Descriptor> writable() {
    return descriptors.stream().filter(Descriptor::writable).toList();
  }

  /** Bytes the device may read. */
  public long readableBytes() {
    return readable().stream().mapToLong(Descriptor::length).sum();
  }

  /** Bytes the device may write. */
  public long writableBytes() {
    return writable().stream().mapToLong(Descriptor::length).sum();
  }
}

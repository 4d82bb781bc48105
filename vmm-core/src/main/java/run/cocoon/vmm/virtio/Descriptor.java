package run.cocoon.vmm.virtio;

/**
 * One buffer of a descriptor chain, already checked to be guest RAM inside one region.
 *
 * @param address guest-physical address
 * @param length bytes, 0 to 2^32 - 1
 * @param writable whether the device writes it (VIRTQ_DESC_F_WRITE); else the device reads it
 */
public record Descriptor(long address, long length, boolean writable) {}

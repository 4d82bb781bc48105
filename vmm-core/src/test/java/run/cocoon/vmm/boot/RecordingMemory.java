package run.cocoon.vmm.boot;

import java.lang.foreign.MemorySegment;
import java.util.List;
import run.cocoon.vmm.memory.GuestMemory;
import run.cocoon.vmm.memory.GuestRegion;

/**
 * Guest memory that counts every call able to change RAM (writes, fills, and slices, which hand
 * out writable views), so tests can assert that a rejected boot wrote nothing at all.
 */
final class RecordingMemory implements GuestMemory {
  private final GuestMemory delegate;
  private int mutations;

  RecordingMemory(GuestMemory delegate) {
    this.delegate = delegate;
  }

  int mutations() {
    return mutations;
  }

  @Override
  public List<GuestRegion> regions() {
    return delegate.regions();
  }

  @Override
  public MemorySegment slice(long address, long length) {
    mutations++;
    return delegate.slice(address, length);
  }

  @Override
  public boolean isRam(long address, long length) {
    return delegate.isRam(address, length);
  }

  @Override
  public void read(long address, byte[] destination, int offset, int length) {
    delegate.read(address, destination, offset, length);
  }

  @Override
  public void write(long address, byte[] source, int offset, int length) {
    mutations++;
    delegate.write(address, source, offset, length);
  }

  @Override
  public int readU8(long address) {
    return delegate.readU8(address);
  }

  @Override
  public int readU16(long address) {
    return delegate.readU16(address);
  }

  @Override
  public int readU32(long address) {
    return delegate.readU32(address);
  }

  @Override
  public long readU64(long address) {
    return delegate.readU64(address);
  }

  @Override
  public void writeU8(long address, int value) {
    mutations++;
    delegate.writeU8(address, value);
  }

  @Override
  public void writeU16(long address, int value) {
    mutations++;
    delegate.writeU16(address, value);
  }

  @Override
  public void writeU32(long address, int value) {
    mutations++;
    delegate.writeU32(address, value);
  }

  @Override
  public void writeU64(long address, long value) {
    mutations++;
    delegate.writeU64(address, value);
  }

  @Override
  public void fill(long address, long length, byte value) {
    mutations++;
    delegate.fill(address, length, value);
  }
}

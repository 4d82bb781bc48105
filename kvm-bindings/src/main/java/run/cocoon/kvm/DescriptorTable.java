package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/** A GDT or IDT register ({@code struct kvm_dtable}). */
public record DescriptorTable(long base, int limit) {
  private static final long BASE = Layouts.offset(Layouts.KVM_DTABLE, "base");
  private static final long LIMIT = Layouts.offset(Layouts.KVM_DTABLE, "limit");

  static DescriptorTable read(MemorySegment m, long at) {
    return new DescriptorTable(m.get(JAVA_LONG, at + BASE),
        Short.toUnsignedInt(m.get(JAVA_SHORT, at + LIMIT)));
  }

  void write(MemorySegment m, long at) {
    m.asSlice(at, Layouts.KVM_DTABLE.byteSize()).fill((byte) 0);
    m.set(JAVA_LONG, at + BASE, base);
    m.set(JAVA_SHORT, at + LIMIT, (short) limit);
  }
}

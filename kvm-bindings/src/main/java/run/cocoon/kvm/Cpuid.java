package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** Marshalling of {@code struct kvm_cpuid2} with its trailing entries. */
final class Cpuid {
  private static final long HEADER = Layouts.KVM_CPUID2.byteSize();
  private static final long ENTRY = Layouts.KVM_CPUID_ENTRY2.byteSize();

  private Cpuid() {}

  static MemorySegment allocate(Arena arena, int capacity) {
    MemorySegment buf = arena.allocate(HEADER + ENTRY * capacity, 8);
    buf.set(JAVA_INT, 0, capacity);
    return buf;
  }

  static List<CpuidEntry> read(MemorySegment buf) {
    int n = buf.get(JAVA_INT, 0);
    long capacity = (buf.byteSize() - HEADER) / ENTRY;
    if (n < 0 || n > capacity) {
      throw new IllegalStateException("kvm_cpuid2.nent " + n + " exceeds the buffer");
    }
    List<CpuidEntry> entries = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      long at = HEADER + ENTRY * i;
      entries.add(new CpuidEntry(buf.get(JAVA_INT, at), buf.get(JAVA_INT, at + 4),
          buf.get(JAVA_INT, at + 8), buf.get(JAVA_INT, at + 12), buf.get(JAVA_INT, at + 16),
          buf.get(JAVA_INT, at + 20), buf.get(JAVA_INT, at + 24)));
    }
    return List.copyOf(entries);
  }

  static MemorySegment write(Arena arena, List<CpuidEntry> entries) {
    MemorySegment buf = allocate(arena, entries.size());
    for (int i = 0; i < entries.size(); i++) {
      CpuidEntry e = entries.get(i);
      long at = HEADER + ENTRY * i;
      buf.set(JAVA_INT, at, e.function());
      buf.set(JAVA_INT, at + 4, e.index());
      buf.set(JAVA_INT, at + 8, e.flags());
      buf.set(JAVA_INT, at + 12, e.eax());
      buf.set(JAVA_INT, at + 16, e.ebx());
      buf.set(JAVA_INT, at + 20, e.ecx());
      buf.set(JAVA_INT, at + 24, e.edx());
    }
    return buf;
  }
}

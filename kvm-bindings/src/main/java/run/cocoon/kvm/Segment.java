package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;

/**
 * A segment register as KVM describes it ({@code struct kvm_segment}): the hidden descriptor
 * cache, already decoded (type, present, DPL, D/B, S, L, G, AVL, unusable).
 */
public record Segment(
    long base, int limit, int selector, int type, boolean present, int dpl, boolean db,
    boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

  private static final long BASE = Layouts.offset(Layouts.KVM_SEGMENT, "base");
  private static final long LIMIT = Layouts.offset(Layouts.KVM_SEGMENT, "limit");
  private static final long SELECTOR = Layouts.offset(Layouts.KVM_SEGMENT, "selector");
  private static final long TYPE = Layouts.offset(Layouts.KVM_SEGMENT, "type");

  /** A copy with another selector and base (what a real-mode segment load does). */
  public Segment withSelectorAndBase(int newSelector, long newBase) {
    return new Segment(newBase, limit, newSelector, type, present, dpl, db, s, l, g, avl, unusable);
  }

  static Segment read(MemorySegment m, long at) {
    long f = at + TYPE; // type, present, dpl, db, s, l, g, avl, unusable: consecutive bytes
    return new Segment(
        m.get(JAVA_LONG, at + BASE), m.get(JAVA_INT, at + LIMIT),
        Short.toUnsignedInt(m.get(JAVA_SHORT, at + SELECTOR)),
        Byte.toUnsignedInt(m.get(JAVA_BYTE, f)), m.get(JAVA_BYTE, f + 1) != 0,
        Byte.toUnsignedInt(m.get(JAVA_BYTE, f + 2)), m.get(JAVA_BYTE, f + 3) != 0,
        m.get(JAVA_BYTE, f + 4) != 0, m.get(JAVA_BYTE, f + 5) != 0, m.get(JAVA_BYTE, f + 6) != 0,
        m.get(JAVA_BYTE, f + 7) != 0, m.get(JAVA_BYTE, f + 8) != 0);
  }

  void write(MemorySegment m, long at) {
    long f = at + TYPE;
    m.set(JAVA_LONG, at + BASE, base);
    m.set(JAVA_INT, at + LIMIT, limit);
    m.set(JAVA_SHORT, at + SELECTOR, (short) selector);
    m.set(JAVA_BYTE, f, (byte) type);
    m.set(JAVA_BYTE, f + 1, bit(present));
    m.set(JAVA_BYTE, f + 2, (byte) dpl);
    m.set(JAVA_BYTE, f + 3, bit(db));
    m.set(JAVA_BYTE, f + 4, bit(s));
    m.set(JAVA_BYTE, f + 5, bit(l));
    m.set(JAVA_BYTE, f + 6, bit(g));
    m.set(JAVA_BYTE, f + 7, bit(avl));
    m.set(JAVA_BYTE, f + 8, bit(unusable));
    m.set(JAVA_BYTE, f + 9, (byte) 0);
  }

  private static byte bit(boolean b) {
    return (byte) (b ? 1 : 0);
  }
}

package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The special registers of a vCPU ({@code struct kvm_sregs}). */
public record Sregs(
    Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr, Segment ldt,
    DescriptorTable gdt, DescriptorTable idt,
    long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase,
    long[] interruptBitmap) {

  private static final java.lang.foreign.StructLayout L = Layouts.KVM_SREGS;

  public Sregs {
    if (interruptBitmap.length != Layouts.INTERRUPT_BITMAP_WORDS) {
      throw new IllegalArgumentException("interrupt bitmap must have "
          + Layouts.INTERRUPT_BITMAP_WORDS + " words");
    }
    interruptBitmap = interruptBitmap.clone();
  }

  @Override
  public long[] interruptBitmap() {
    return interruptBitmap.clone();
  }

  /** A copy with new code and data segments (DS, ES, FS, GS and SS all get {@code data}). */
  public Sregs withSegments(Segment code, Segment data) {
    return new Sregs(code, data, data, data, data, data, tr, ldt, gdt, idt,
        cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
  }

  /** A copy with a new task register. */
  public Sregs withTr(Segment newTr) {
    return new Sregs(cs, ds, es, fs, gs, ss, newTr, ldt, gdt, idt,
        cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
  }

  /** A copy with new descriptor tables. */
  public Sregs withTables(DescriptorTable newGdt, DescriptorTable newIdt) {
    return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, newGdt, newIdt,
        cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
  }

  /** A copy with new control registers and EFER. */
  public Sregs withControl(long newCr0, long newCr3, long newCr4, long newEfer) {
    return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt,
        newCr0, cr2, newCr3, newCr4, cr8, newEfer, apicBase, interruptBitmap);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Sregs other
        && cs.equals(other.cs) && ds.equals(other.ds) && es.equals(other.es)
        && fs.equals(other.fs) && gs.equals(other.gs) && ss.equals(other.ss)
        && tr.equals(other.tr) && ldt.equals(other.ldt)
        && gdt.equals(other.gdt) && idt.equals(other.idt)
        && cr0 == other.cr0 && cr2 == other.cr2 && cr3 == other.cr3 && cr4 == other.cr4
        && cr8 == other.cr8 && efer == other.efer && apicBase == other.apicBase
        && Arrays.equals(interruptBitmap, other.interruptBitmap);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(new Object[] {cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt,
        cr0, cr2, cr3, cr4, cr8, efer, apicBase, Arrays.hashCode(interruptBitmap)});
  }

  @Override
  public String toString() {
    return "Sregs[cs=" + cs + ", ds=" + ds + ", cr0=0x" + Long.toHexString(cr0)
        + ", cr3=0x" + Long.toHexString(cr3) + ", cr4=0x" + Long.toHexString(cr4)
        + ", efer=0x" + Long.toHexString(efer) + ", gdt=" + gdt + ", idt=" + idt + "]";
  }

  private static long at(String field) {
    return Layouts.offset(L, field);
  }

  static Sregs read(MemorySegment m) {
    long[] bitmap = m.asSlice(at("interrupt_bitmap"), 8L * Layouts.INTERRUPT_BITMAP_WORDS)
        .toArray(JAVA_LONG);
    return new Sregs(
        Segment.read(m, at("cs")), Segment.read(m, at("ds")), Segment.read(m, at("es")),
        Segment.read(m, at("fs")), Segment.read(m, at("gs")), Segment.read(m, at("ss")),
        Segment.read(m, at("tr")), Segment.read(m, at("ldt")),
        DescriptorTable.read(m, at("gdt")), DescriptorTable.read(m, at("idt")),
        m.get(JAVA_LONG, at("cr0")), m.get(JAVA_LONG, at("cr2")), m.get(JAVA_LONG, at("cr3")),
        m.get(JAVA_LONG, at("cr4")), m.get(JAVA_LONG, at("cr8")), m.get(JAVA_LONG, at("efer")),
        m.get(JAVA_LONG, at("apic_base")), bitmap);
  }

  void write(MemorySegment m) {
    cs.write(m, at("cs"));
    ds.write(m, at("ds"));
    es.write(m, at("es"));
    fs.write(m, at("fs"));
    gs.write(m, at("gs"));
    ss.write(m, at("ss"));
    tr.write(m, at("tr"));
    ldt.write(m, at("ldt"));
    gdt.write(m, at("gdt"));
    idt.write(m, at("idt"));
    m.set(JAVA_LONG, at("cr0"), cr0);
    m.set(JAVA_LONG, at("cr2"), cr2);
    m.set(JAVA_LONG, at("cr3"), cr3);
    m.set(JAVA_LONG, at("cr4"), cr4);
    m.set(JAVA_LONG, at("cr8"), cr8);
    m.set(JAVA_LONG, at("efer"), efer);
    m.set(JAVA_LONG, at("apic_base"), apicBase);
    MemorySegment.copy(MemorySegment.ofArray(interruptBitmap), 0, m, at("interrupt_bitmap"),
        8L * Layouts.INTERRUPT_BITMAP_WORDS);
  }
}

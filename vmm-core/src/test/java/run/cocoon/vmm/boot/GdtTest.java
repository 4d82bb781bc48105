package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import run.cocoon.kvm.DescriptorTable;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Regs.Register;
import run.cocoon.kvm.Segment;
import run.cocoon.kvm.Sregs;
import run.cocoon.vmm.layout.Layout;

class GdtTest {
  @Test
  void decodes64BitCode() {
    Segment cs = Gdt.toSegment(0x00af_9b00_0000_ffffL, 0x10);
    assertEquals(new Segment(0, 0xffff_ffff, 0x10, 0xb, true, 0, false, true, true, true, false,
        false), cs);
  }

  @Test
  void decodes32BitCodeAndData() {
    assertEquals(new Segment(0, 0xffff_ffff, 0x08, 0xb, true, 0, true, true, false, true, false,
        false), Gdt.toSegment(0x00cf_9b00_0000_ffffL, 0x08));
    assertEquals(new Segment(0, 0xffff_ffff, 0x18, 0x3, true, 0, true, true, false, true, false,
        false), Gdt.toSegment(0x00cf_9300_0000_ffffL, 0x18));
  }

  @Test
  void decodesBusyTss() {
    assertEquals(new Segment(0, 0x67, 0x20, 0xb, true, 0, false, false, false, false, false,
        false), Gdt.toSegment(Gdt.TSS_DESCRIPTOR, 0x20));
  }

  @Test
  void decodesScatteredBaseByteGranularLimitDplAndAvl() {
    // base 0x12345678 split over bits 16..39 and 56..63, limit 0x5abcd, DPL 3, AVL, not present.
    long d = 0x12L << 56 | 0x5L << 48 | 0x1L << 52 | 0x73L << 40 | 0x345678L << 16 | 0xabcdL;
    Segment s = Gdt.toSegment(d, 0x2b);
    assertEquals(0x1234_5678L, s.base());
    assertEquals(0x5abcd, s.limit());
    assertEquals(3, s.dpl());
    assertEquals(3, s.type());
    assertTrue(s.avl());
    assertFalse(s.present());
    assertTrue(s.unusable(), "a not-present segment is unusable");
  }

  @Test
  void linux64EntryState() {
    EntryState e = EntryState.linux64(0x100_0200);
    assertEquals(BootProtocol.LINUX_64, e.protocol());
    Regs r = e.regs();
    assertEquals(0x100_0200, r.rip());
    assertEquals(Layout.ZERO_PAGE_ADDRESS, r.rsi());
    assertEquals(Layout.BOOT_STACK_POINTER, r.rsp());
    assertEquals(2, r.rflags());
    assertEquals(0x8000_0011L, e.cr0(), "PE | ET | PG");
    assertEquals(Layout.PML4_ADDRESS, e.cr3());
    assertEquals(0x20, e.cr4(), "PAE");
    assertEquals(0x500, e.efer(), "LME | LMA");
    assertTrue(e.code().l());
    assertEquals(Gdt.CODE64_SELECTOR, e.code().selector());
    assertEquals(Gdt.DATA_SELECTOR, e.data().selector());
    assertEquals(Gdt.TSS_SELECTOR, e.tr().selector());
  }

  @Test
  void pvhEntryState() {
    EntryState e = EntryState.pvh(0x100_0040);
    assertEquals(0x100_0040, e.regs().rip());
    assertEquals(Layout.PVH_INFO_ADDRESS, e.regs().get(Register.RBX));
    assertEquals(0x11, e.cr0(), "PE | ET, paging off");
    assertEquals(0, e.cr3());
    assertEquals(0, e.cr4());
    assertEquals(0, e.efer());
    assertTrue(e.code().db());
    assertFalse(e.code().l());
    assertTrue(e.data().db());
    assertEquals(0xffff_ffff, e.data().limit());
  }

  @Test
  void applyToKeepsApicBaseAndCr8() {
    Segment zero = new Segment(0, 0xffff, 0, 3, true, 0, false, true, false, false, false, false);
    Sregs current = new Sregs(zero, zero, zero, zero, zero, zero, zero, zero,
        new DescriptorTable(0, 0xffff), new DescriptorTable(0, 0xffff),
        0x6000_0010L, 0, 0, 0, 7, 0, 0xfee0_0900L, new long[4]);
    Sregs s = EntryState.linux64(0x100_0200).applyTo(current);
    assertEquals(0xfee0_0900L, s.apicBase());
    assertEquals(7, s.cr8());
    assertEquals(Gdt.GDTR, s.gdt());
    assertEquals(new DescriptorTable(Layout.IDT_ADDRESS, 0), s.idt());
    for (Segment seg : List.of(s.ds(), s.es(), s.fs(), s.gs(), s.ss())) {
      assertEquals(Gdt.DATA_SELECTOR, seg.selector());
    }
    assertEquals(Gdt.TSS_SELECTOR, s.tr().selector());
    assertEquals(0x8000_0011L, s.cr0());
  }

  @Test
  void gdtFitsBeforeTheIdt() {
    assertTrue(Layout.GDT_ADDRESS + Gdt.BYTES <= Layout.IDT_ADDRESS);
    assertEquals(Gdt.BYTES - 1, Gdt.GDTR.limit());
  }
}

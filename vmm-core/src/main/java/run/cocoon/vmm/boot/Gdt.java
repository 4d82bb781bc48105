package run.cocoon.vmm.boot;

import run.cocoon.kvm.DescriptorTable;
import run.cocoon.kvm.Segment;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The boot GDT and the decoding of its descriptors into the segment caches KVM loads. The
 * selectors follow the kernel's own boot GDT: Documentation/x86/boot.rst asks for __BOOT_CS at
 * 0x10 and __BOOT_DS at 0x18 for the 64-bit entry; PVH leaves selector values open and gets a
 * 32-bit code segment of its own.
 *
 * <pre>
 * 0x00 null
 * 0x08 32-bit flat code (PVH entry)
 * 0x10 64-bit code      (__BOOT_CS)
 * 0x18 flat data        (__BOOT_DS; both entries)
 * 0x20 busy TSS, 16-byte system descriptor in long mode (slots 0x20 and 0x28)
 * </pre>
 */
public final class Gdt {
  public static final int CODE32_SELECTOR = 0x08;
  public static final int CODE64_SELECTOR = 0x10;
  public static final int DATA_SELECTOR = 0x18;
  public static final int TSS_SELECTOR = 0x20;

  /** Base 0, limit 4 GiB, present, DPL 0, execute/read accessed, D=1 (32-bit), G=1. */
  public static final long CODE32_DESCRIPTOR = 0x00cf_9b00_0000_ffffL;
  /** Base 0, limit 4 GiB, present, DPL 0, execute/read accessed, L=1 (64-bit), G=1. */
  public static final long CODE64_DESCRIPTOR = 0x00af_9b00_0000_ffffL;
  /** Base 0, limit 4 GiB, present, DPL 0, read/write accessed, B=1, G=1. */
  public static final long DATA_DESCRIPTOR = 0x00cf_9300_0000_ffffL;
  /**
   * Base 0, limit 0x67 (a minimal 104-byte TSS), present, system type 0xb (busy 32/64-bit TSS):
   * VM entry insists on a busy TSS in TR, and PVH asks for exactly base 0, limit 0x67.
   */
  public static final long TSS_DESCRIPTOR = 0x0000_8b00_0000_0067L;

  static final long[] ENTRIES = {0, CODE32_DESCRIPTOR, CODE64_DESCRIPTOR, DATA_DESCRIPTOR,
      TSS_DESCRIPTOR, 0 /* upper half of the TSS descriptor: base bits 63..32 */};
  static final int BYTES = ENTRIES.length * 8;

  /** The GDTR value: base and limit (size - 1). */
  public static final DescriptorTable GDTR = new DescriptorTable(Layout.GDT_ADDRESS, BYTES - 1);
  /** An empty IDT: any exception before the kernel loads its own becomes a triple fault. */
  public static final DescriptorTable IDTR = new DescriptorTable(Layout.IDT_ADDRESS, 0);

  private Gdt() {}

  static void write(GuestMemory memory) {
    for (int i = 0; i < ENTRIES.length; i++) {
      memory.writeU64(Layout.GDT_ADDRESS + 8L * i, ENTRIES[i]);
    }
  }

  /**
   * Decodes an 8-byte segment descriptor into the segment cache KVM takes. The limit is expanded
   * to bytes when G is set, as KVM expects; a not-present descriptor yields an unusable segment.
   */
  public static Segment toSegment(long descriptor, int selector) {
    long base = ((descriptor >>> 16) & 0xff_ffffL) | (((descriptor >>> 56) & 0xff) << 24);
    int rawLimit = (int) ((descriptor & 0xffff) | ((descriptor >>> 32) & 0xf_0000L));
    int access = (int) ((descriptor >>> 40) & 0xff);
    int flags = (int) ((descriptor >>> 52) & 0xf);
    boolean g = (flags & 0b1000) != 0;
    boolean present = (access & 0x80) != 0;
    return new Segment(base, g ? (rawLimit << 12) | 0xfff : rawLimit, selector,
        access & 0xf, present, (access >>> 5) & 3, (flags & 0b0100) != 0,
        (access & 0x10) != 0, (flags & 0b0010) != 0, g, (flags & 0b0001) != 0, !present);
  }

  /** The descriptor at {@code selector} in our table, decoded. */
  public static Segment segment(int selector) {
    return toSegment(ENTRIES[selector >>> 3], selector);
  }
}

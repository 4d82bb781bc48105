package run.cocoon.kvm;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * vCPU state that KVM defines as a fixed-size opaque blob which the VMM saves and restores whole
 * (local APIC page, XSAVE area, pending events), with typed views of the fields a VMM sets.
 */
public sealed interface RawState permits RawState.Lapic, RawState.Xsave, RawState.VcpuEvents {

  /** The bytes, exactly the size of the C struct. */
  byte[] bytes();

  /** {@code struct kvm_lapic_state}: the 1 KiB local APIC register page. */
  record Lapic(byte[] bytes) implements RawState {
    /** Offset of the LVT LINT0 register in the APIC page. */
    public static final int LVT_LINT0 = 0x350;
    /** Offset of the LVT LINT1 register in the APIC page. */
    public static final int LVT_LINT1 = 0x360;
    /** Offset of the spurious-interrupt vector register. */
    public static final int SPURIOUS_VECTOR = 0xf0;
    /** LVT delivery mode ExtINT (bits 8-10 = 0b111). */
    public static final int DELIVERY_EXTINT = 0x7 << 8;
    /** LVT delivery mode NMI (bits 8-10 = 0b100). */
    public static final int DELIVERY_NMI = 0x4 << 8;
    private static final int DELIVERY_MASK = 0x7 << 8;

    public Lapic {
      bytes = checked(bytes, Layouts.LAPIC_STATE_BYTES).clone();
    }

    @Override
    public byte[] bytes() {
      return bytes.clone();
    }

    /** A 32-bit APIC register at a page offset. */
    public int register(int offset) {
      checkOffset(offset);
      return (bytes[offset] & 0xff) | (bytes[offset + 1] & 0xff) << 8
          | (bytes[offset + 2] & 0xff) << 16 | (bytes[offset + 3] & 0xff) << 24;
    }

    /** A copy with one 32-bit APIC register changed. */
    public Lapic withRegister(int offset, int value) {
      checkOffset(offset);
      byte[] copy = bytes.clone();
      for (int i = 0; i < 4; i++) {
        copy[offset + i] = (byte) (value >>> (8 * i));
      }
      return new Lapic(copy);
    }

    /** A copy with an LVT entry's delivery mode replaced (vector, mask, etc. kept). */
    public Lapic withDeliveryMode(int lvtOffset, int deliveryMode) {
      return withRegister(lvtOffset, (register(lvtOffset) & ~DELIVERY_MASK) | deliveryMode);
    }

    private static void checkOffset(int offset) {
      if (offset < 0 || offset > Layouts.LAPIC_STATE_BYTES - 4 || offset % 16 != 0) {
        throw new IllegalArgumentException("not an APIC register offset: 0x"
            + Integer.toHexString(offset));
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Lapic l && Arrays.equals(bytes, l.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return "Lapic[lint0=0x" + Integer.toHexString(register(LVT_LINT0))
          + ", lint1=0x" + Integer.toHexString(register(LVT_LINT1)) + "]";
    }
  }

  /** {@code struct kvm_xsave}: the 4 KiB legacy XSAVE area. */
  record Xsave(byte[] bytes) implements RawState {
    public Xsave {
      bytes = checked(bytes, Layouts.XSAVE_BYTES).clone();
    }

    @Override
    public byte[] bytes() {
      return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Xsave x && Arrays.equals(bytes, x.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return "Xsave[" + bytes.length + " bytes]";
    }
  }

  /** {@code struct kvm_vcpu_events}: pending exceptions, interrupts, NMIs, SMIs. */
  record VcpuEvents(byte[] bytes) implements RawState {
    public VcpuEvents {
      bytes = checked(bytes, (int) Layouts.KVM_VCPU_EVENTS.byteSize()).clone();
    }

    @Override
    public byte[] bytes() {
      return bytes.clone();
    }

    /** Whether an exception is pending injection. */
    public boolean exceptionInjected() {
      return bytes[(int) Layouts.offset(Layouts.KVM_VCPU_EVENTS, "exception", "injected")] != 0;
    }

    /** Whether NMIs are masked. */
    public boolean nmiMasked() {
      return bytes[(int) Layouts.offset(Layouts.KVM_VCPU_EVENTS, "nmi", "masked")] != 0;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof VcpuEvents e && Arrays.equals(bytes, e.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return "VcpuEvents[" + HexFormat.of().formatHex(bytes) + "]";
    }
  }

  private static byte[] checked(byte[] bytes, int size) {
    if (bytes.length != size) {
      throw new IllegalArgumentException("expected " + size + " bytes, got " + bytes.length);
    }
    return bytes;
  }
}

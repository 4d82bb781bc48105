package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The x87/SSE state of a vCPU ({@code struct kvm_fpu}); register files are raw bytes. */
public record Fpu(byte[] fpr, int fcw, int fsw, int ftwx, int lastOpcode, long lastIp, long lastDp,
    byte[] xmm, int mxcsr) {

  /** The x87 control word after FNINIT: all exceptions masked, 64-bit precision. */
  public static final int FCW_DEFAULT = 0x37f;
  /** MXCSR after reset: all SSE exceptions masked. */
  public static final int MXCSR_DEFAULT = 0x1f80;

  private static final java.lang.foreign.StructLayout L = Layouts.KVM_FPU;
  private static final int FPR_BYTES = 128;
  private static final int XMM_BYTES = 256;

  public Fpu {
    if (fpr.length != FPR_BYTES || xmm.length != XMM_BYTES) {
      throw new IllegalArgumentException("fpr must be 128 bytes and xmm 256 bytes");
    }
    fpr = fpr.clone();
    xmm = xmm.clone();
  }

  /** The state a VMM gives a fresh vCPU: default control words, empty registers. */
  public static Fpu initial() {
    return new Fpu(new byte[FPR_BYTES], FCW_DEFAULT, 0, 0, 0, 0, 0, new byte[XMM_BYTES],
        MXCSR_DEFAULT);
  }

  @Override
  public byte[] fpr() {
    return fpr.clone();
  }

  @Override
  public byte[] xmm() {
    return xmm.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Fpu f && Arrays.equals(fpr, f.fpr) && fcw == f.fcw && fsw == f.fsw
        && ftwx == f.ftwx && lastOpcode == f.lastOpcode && lastIp == f.lastIp
        && lastDp == f.lastDp && Arrays.equals(xmm, f.xmm) && mxcsr == f.mxcsr;
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(fpr) + 17 * Arrays.hashCode(xmm) + fcw + mxcsr;
  }

  @Override
  public String toString() {
    return "Fpu[fcw=0x" + Integer.toHexString(fcw) + ", mxcsr=0x" + Integer.toHexString(mxcsr) + "]";
  }

  private static long at(String field) {
    return Layouts.offset(L, field);
  }

  static Fpu read(MemorySegment m) {
    return new Fpu(
        m.asSlice(at("fpr"), FPR_BYTES).toArray(JAVA_BYTE),
        Short.toUnsignedInt(m.get(JAVA_SHORT, at("fcw"))),
        Short.toUnsignedInt(m.get(JAVA_SHORT, at("fsw"))),
        Byte.toUnsignedInt(m.get(JAVA_BYTE, at("ftwx"))),
        Short.toUnsignedInt(m.get(JAVA_SHORT, at("last_opcode"))),
        m.get(JAVA_LONG, at("last_ip")), m.get(JAVA_LONG, at("last_dp")),
        m.asSlice(at("xmm"), XMM_BYTES).toArray(JAVA_BYTE),
        m.get(JAVA_INT, at("mxcsr")));
  }

  void write(MemorySegment m) {
    m.asSlice(0, L.byteSize()).fill((byte) 0);
    MemorySegment.copy(MemorySegment.ofArray(fpr), 0, m, at("fpr"), FPR_BYTES);
    m.set(JAVA_SHORT, at("fcw"), (short) fcw);
    m.set(JAVA_SHORT, at("fsw"), (short) fsw);
    m.set(JAVA_BYTE, at("ftwx"), (byte) ftwx);
    m.set(JAVA_SHORT, at("last_opcode"), (short) lastOpcode);
    m.set(JAVA_LONG, at("last_ip"), lastIp);
    m.set(JAVA_LONG, at("last_dp"), lastDp);
    MemorySegment.copy(MemorySegment.ofArray(xmm), 0, m, at("xmm"), XMM_BYTES);
    m.set(JAVA_INT, at("mxcsr"), mxcsr);
  }
}

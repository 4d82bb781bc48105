package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A vCPU file descriptor and its mmapped {@code kvm_run}. {@link #run()} is called by the one
 * thread that runs this vCPU; {@link #setImmediateExit} may be called from any thread.
 */
public final class VcpuFd implements AutoCloseable {
  private static final VarHandle RUN_BYTE = JAVA_BYTE.varHandle();
  private static final long MSRS_HEADER = Layouts.KVM_MSRS.byteSize();
  private static final long MSR_ENTRY = Layouts.KVM_MSR_ENTRY.byteSize();
  private static final long XCRS_ARRAY = Layouts.offset(Layouts.KVM_XCRS, "xcrs");
  private static final long XCR_ENTRY = Layouts.KVM_XCR.byteSize();
  /** KVM_SET_MSRS/GET_MSRS take at most this many entries per call (KVM_MAX_MSR_ENTRIES). */
  public static final int MAX_MSR_ENTRIES = 255;

  private final OwnedFd fd;
  private final int id;
  private final Arena runArena;
  private final MemorySegment run;

  VcpuFd(int fd, int id, int mmapSize) {
    this.fd = new OwnedFd(fd);
    this.id = id;
    this.runArena = Arena.ofShared();
    try {
      if (mmapSize < Layouts.KVM_RUN.byteSize()) {
        throw new SyscallException("KVM_GET_VCPU_MMAP_SIZE", Errno.EINVAL,
            "vCPU mapping of " + mmapSize + " bytes is smaller than kvm_run");
      }
      this.run = Libc.mmap(mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0,
          runArena);
    } catch (RuntimeException e) {
      runArena.close();
      this.fd.close();
      throw e;
    }
  }

  /** The vCPU id given at creation (its APIC id). */
  public int id() {
    return id;
  }

  /** The raw descriptor. */
  public int fd() {
    return fd.get();
  }

  /**
   * KVM_RUN until the next exit. A pending signal or {@code immediate_exit} yields
   * {@link VmExit.Interrupted}; any other failure throws with its errno (EAGAIN included:
   * whether to retry is the caller's policy).
   */
  public VmExit run() {
    int rc = Libc.ioctlOrErrno(fd.get(), KvmIoctl.KVM_RUN.request(), 0);
    if (rc < 0) {
      if (-rc == Errno.EINTR) {
        return new VmExit.Interrupted();
      }
      throw new SyscallException(KvmIoctl.KVM_RUN.name(), -rc);
    }
    return ExitDecoder.decode(run);
  }

  /**
   * Sets {@code kvm_run.immediate_exit}: while set, KVM_RUN returns at once with EINTR. Paired
   * with a signal (see {@link VcpuKick}) it stops a vCPU that is already inside KVM_RUN.
   */
  public void setImmediateExit(boolean value) {
    RUN_BYTE.setVolatile(run, ExitDecoder.IMMEDIATE_EXIT, (byte) (value ? 1 : 0));
  }

  /** KVM_GET_REGS. */
  public Regs getRegs() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_REGS);
      fd.ioctl(KvmIoctl.KVM_GET_REGS, s);
      return Regs.read(s);
    }
  }

  /** KVM_SET_REGS. */
  public void setRegs(Regs regs) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_REGS);
      regs.write(s);
      fd.ioctl(KvmIoctl.KVM_SET_REGS, s);
    }
  }

  /** KVM_GET_SREGS. */
  public Sregs getSregs() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_SREGS);
      fd.ioctl(KvmIoctl.KVM_GET_SREGS, s);
      return Sregs.read(s);
    }
  }

  /** KVM_SET_SREGS. */
  public void setSregs(Sregs sregs) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_SREGS);
      sregs.write(s);
      fd.ioctl(KvmIoctl.KVM_SET_SREGS, s);
    }
  }

  /** KVM_GET_FPU. */
  public Fpu getFpu() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_FPU);
      fd.ioctl(KvmIoctl.KVM_GET_FPU, s);
      return Fpu.read(s);
    }
  }

  /** KVM_SET_FPU. */
  public void setFpu(Fpu fpu) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_FPU);
      fpu.write(s);
      fd.ioctl(KvmIoctl.KVM_SET_FPU, s);
    }
  }

  /** KVM_GET_MSRS for the given indices; MSRs KVM does not know are left out of the result. */
  public List<MsrEntry> getMsrs(int... indices) {
    checkMsrCount(indices.length);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(MSRS_HEADER + MSR_ENTRY * indices.length, 8);
      s.set(JAVA_INT, 0, indices.length);
      for (int i = 0; i < indices.length; i++) {
        s.set(JAVA_INT, MSRS_HEADER + MSR_ENTRY * i, indices[i]);
      }
      int read = fd.ioctl(KvmIoctl.KVM_GET_MSRS, s);
      List<MsrEntry> out = new ArrayList<>(read);
      for (int i = 0; i < read; i++) {
        long at = MSRS_HEADER + MSR_ENTRY * i;
        out.add(new MsrEntry(s.get(JAVA_INT, at), s.get(JAVA_LONG, at + 8)));
      }
      return List.copyOf(out);
    }
  }

  /**
   * KVM_SET_MSRS. Returns how many were set: KVM stops at the first MSR it refuses, so a result
   * below {@code entries.size()} names the refused one by its position.
   */
  public int setMsrs(List<MsrEntry> entries) {
    checkMsrCount(entries.size());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(MSRS_HEADER + MSR_ENTRY * entries.size(), 8);
      s.set(JAVA_INT, 0, entries.size());
      for (int i = 0; i < entries.size(); i++) {
        long at = MSRS_HEADER + MSR_ENTRY * i;
        s.set(JAVA_INT, at, entries.get(i).index());
        s.set(JAVA_LONG, at + 8, entries.get(i).data());
      }
      return fd.ioctl(KvmIoctl.KVM_SET_MSRS, s);
    }
  }

  private static void checkMsrCount(int n) {
    if (n > MAX_MSR_ENTRIES) {
      throw new IllegalArgumentException("at most " + MAX_MSR_ENTRIES + " MSRs per call, got " + n);
    }
  }

  /** KVM_SET_CPUID2: the CPUID leaves this vCPU's guest sees. */
  public void setCpuid2(List<CpuidEntry> entries) {
    if (entries.size() > Kvm.MAX_CPUID_ENTRIES) {
      throw new IllegalArgumentException("at most " + Kvm.MAX_CPUID_ENTRIES + " CPUID entries");
    }
    try (Arena arena = Arena.ofConfined()) {
      fd.ioctl(KvmIoctl.KVM_SET_CPUID2, Cpuid.write(arena, entries));
    }
  }

  /**
   * KVM_GET_CPUID2. Kernels differ in whether they report the entry count: some write it back on
   * success, none on E2BIG. So the buffer is sized for {@link Kvm#MAX_CPUID_ENTRIES}, zeroed, and
   * when the count comes back unchanged the unused all-zero tail is dropped (no real leaf is all
   * zeros: leaf 0 reports the highest leaf, every other entry names its function).
   */
  public List<CpuidEntry> getCpuid2() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = Cpuid.allocate(arena, Kvm.MAX_CPUID_ENTRIES);
      fd.ioctl(KvmIoctl.KVM_GET_CPUID2, buf);
      List<CpuidEntry> entries = Cpuid.read(buf);
      int n = entries.size();
      CpuidEntry empty = new CpuidEntry(0, 0, 0, 0, 0, 0, 0);
      while (n > 0 && entries.get(n - 1).equals(empty)) {
        n--;
      }
      return entries.subList(0, n);
    }
  }

  /** KVM_GET_LAPIC. */
  public RawState.Lapic getLapic() {
    return new RawState.Lapic(getRaw(KvmIoctl.KVM_GET_LAPIC, Layouts.KVM_LAPIC_STATE.byteSize()));
  }

  /** KVM_SET_LAPIC. */
  public void setLapic(RawState.Lapic lapic) {
    setRaw(KvmIoctl.KVM_SET_LAPIC, lapic);
  }

  /** KVM_GET_XSAVE. */
  public RawState.Xsave getXsave() {
    return new RawState.Xsave(getRaw(KvmIoctl.KVM_GET_XSAVE, Layouts.KVM_XSAVE.byteSize()));
  }

  /** KVM_SET_XSAVE. */
  public void setXsave(RawState.Xsave xsave) {
    setRaw(KvmIoctl.KVM_SET_XSAVE, xsave);
  }

  /** KVM_GET_VCPU_EVENTS. */
  public RawState.VcpuEvents getVcpuEvents() {
    return new RawState.VcpuEvents(
        getRaw(KvmIoctl.KVM_GET_VCPU_EVENTS, Layouts.KVM_VCPU_EVENTS.byteSize()));
  }

  /** KVM_SET_VCPU_EVENTS. */
  public void setVcpuEvents(RawState.VcpuEvents events) {
    setRaw(KvmIoctl.KVM_SET_VCPU_EVENTS, events);
  }

  private byte[] getRaw(KvmIoctl ioctl, long size) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(size, 8);
      fd.ioctl(ioctl, s);
      return s.toArray(JAVA_BYTE);
    }
  }

  private void setRaw(KvmIoctl ioctl, RawState state) {
    byte[] bytes = state.bytes();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(bytes.length, 8);
      MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
      fd.ioctl(ioctl, s);
    }
  }

  /** KVM_GET_MP_STATE. */
  public MpState getMpState() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_MP_STATE);
      fd.ioctl(KvmIoctl.KVM_GET_MP_STATE, s);
      return MpState.of(s.get(JAVA_INT, 0));
    }
  }

  /** KVM_SET_MP_STATE. */
  public void setMpState(MpState state) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_MP_STATE);
      s.set(JAVA_INT, 0, state.ordinal());
      fd.ioctl(KvmIoctl.KVM_SET_MP_STATE, s);
    }
  }

  /** KVM_GET_XCRS. */
  public List<Xcr> getXcrs() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_XCRS);
      fd.ioctl(KvmIoctl.KVM_GET_XCRS, s);
      int n = Math.min(s.get(JAVA_INT, 0), Layouts.MAX_XCRS);
      List<Xcr> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        long at = XCRS_ARRAY + XCR_ENTRY * i;
        out.add(new Xcr(s.get(JAVA_INT, at), s.get(JAVA_LONG, at + 8)));
      }
      return List.copyOf(out);
    }
  }

  /** KVM_SET_XCRS. */
  public void setXcrs(List<Xcr> xcrs) {
    if (xcrs.size() > Layouts.MAX_XCRS) {
      throw new IllegalArgumentException("at most " + Layouts.MAX_XCRS + " XCRs");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Layouts.KVM_XCRS);
      s.set(JAVA_INT, 0, xcrs.size());
      for (int i = 0; i < xcrs.size(); i++) {
        long at = XCRS_ARRAY + XCR_ENTRY * i;
        s.set(JAVA_INT, at, xcrs.get(i).xcr());
        s.set(JAVA_LONG, at + 8, xcrs.get(i).value());
      }
      fd.ioctl(KvmIoctl.KVM_SET_XCRS, s);
    }
  }

  /** Unmaps {@code kvm_run} and closes the descriptor. Call only once the vCPU thread is done. */
  @Override
  public void close() {
    if (fd.get() >= 0) {
      runArena.close();
    }
    fd.close();
  }
}

package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongUnaryOperator;

/** A VM with a little RAM at guest-physical 0, for hand-assembled test guests. */
final class TinyVm implements AutoCloseable {
  /** Where Intel VMX keeps its real-mode TSS; far above the test RAM. */
  static final long TSS_ADDRESS = 0xfffb_d000L;
  static final long PML4 = 0x1000;
  static final long PDPT = 0x2000;
  static final long PD = 0x3000;
  static final long GDT = 0x500;
  static final int CODE64_SELECTOR = 0x08;
  static final int DATA64_SELECTOR = 0x10;

  final Kvm kvm;
  final VmFd vm;
  final MemorySegment ram;
  private final Arena arena = Arena.ofShared();
  private final List<VcpuFd> vcpus = new ArrayList<>();

  TinyVm(long ramBytes) {
    kvm = Kvm.open();
    vm = kvm.createVm();
    vm.setTssAddress(TSS_ADDRESS);
    ram = Libc.mmapAnonymous(ramBytes, arena);
    vm.setUserMemoryRegion(new MemoryRegion(0, 0, 0, ramBytes, ram.address()));
  }

  void load(long gpa, byte[] code) {
    MemorySegment.copy(MemorySegment.ofArray(code), 0, ram, gpa, code.length);
  }

  VcpuFd vcpu(int id) {
    VcpuFd v = vm.createVcpu(id);
    vcpus.add(v);
    return v;
  }

  /** A vCPU in real mode with CS:IP = 0:entry and flat data segments. */
  VcpuFd realModeVcpu(int id, long entry) {
    VcpuFd v = vcpu(id);
    Sregs s = v.getSregs();
    v.setSregs(s.withSegments(s.cs().withSelectorAndBase(0, 0), s.ds().withSelectorAndBase(0, 0)));
    v.setRegs(Regs.INITIAL.with(Regs.Register.RIP, entry).with(Regs.Register.RSP, 0x7000));
    return v;
  }

  /**
   * A vCPU in 64-bit long mode: identity-mapped first 2 MiB with one large page, a flat GDT,
   * paging and long mode enabled, starting at {@code entry}.
   */
  VcpuFd longModeVcpu(int id, long entry) {
    ram.set(JAVA_LONG, PML4, PDPT | 0x3);           // present, writable
    ram.set(JAVA_LONG, PDPT, PD | 0x3);
    ram.set(JAVA_LONG, PD, 0x0L | 0x83);            // 2 MiB page at 0: present, writable, PS
    ram.set(JAVA_LONG, GDT, 0);                     // null descriptor
    ram.set(JAVA_LONG, GDT + CODE64_SELECTOR, 0x00af_9b00_0000_ffffL); // code, L=1
    ram.set(JAVA_LONG, GDT + DATA64_SELECTOR, 0x00cf_9300_0000_ffffL); // data, writable
    VcpuFd v = vcpu(id);
    Segment code = new Segment(0, 0xffff_ffff, CODE64_SELECTOR, 0xb, true, 0, false, true, true,
        true, false, false);
    Segment data = new Segment(0, 0xffff_ffff, DATA64_SELECTOR, 0x3, true, 0, true, true, false,
        true, false, false);
    long cr0 = 0x8000_0011L; // PG | ET | PE
    long cr4 = 0x20;         // PAE
    long efer = 0x500;       // LME | LMA
    Sregs s = v.getSregs().withSegments(code, data)
        .withTables(new DescriptorTable(GDT, 3 * 8 - 1), new DescriptorTable(0, 0))
        .withControl(cr0, PML4, cr4, efer);
    v.setSregs(s);
    v.setRegs(Regs.INITIAL.with(Regs.Register.RIP, entry).with(Regs.Register.RSP, 0x8000));
    return v;
  }

  /** What the guest did, as the test sees it. */
  record Trace(List<String> events, VmExit last) {}

  /**
   * Runs a vCPU until an exit that is not port I/O or MMIO, recording each access as
   * "out:PORT=VALUE", "in:PORT", "mmio-write:ADDR=VALUE", "mmio-read:ADDR", answering reads
   * with {@code reads}. Stops after {@code maxExits} to keep a broken guest from looping forever.
   */
  static Trace run(VcpuFd vcpu, LongUnaryOperator reads, int maxExits) {
    List<String> events = new ArrayList<>();
    for (int i = 0; i < maxExits; i++) {
      VmExit exit = vcpu.run();
      switch (exit) {
        case VmExit.Io io when io.isOut() ->
            events.add("out:0x" + Integer.toHexString(io.port()) + "=0x" + Long.toHexString(io.value()));
        case VmExit.Io io -> {
          events.add("in:0x" + Integer.toHexString(io.port()));
          io.setValue(reads.applyAsLong(io.port()));
        }
        case VmExit.Mmio m when m.isWrite() ->
            events.add("mmio-write:0x" + Long.toHexString(m.address()) + "=0x" + Long.toHexString(m.value()));
        case VmExit.Mmio m -> {
          events.add("mmio-read:0x" + Long.toHexString(m.address()));
          m.setValue(reads.applyAsLong(m.address()));
        }
        default -> {
          return new Trace(events, exit);
        }
      }
    }
    return new Trace(events, null);
  }

  @Override
  public void close() {
    for (VcpuFd v : vcpus) {
      v.close();
    }
    vm.close();
    kvm.close();
    arena.close();
  }
}

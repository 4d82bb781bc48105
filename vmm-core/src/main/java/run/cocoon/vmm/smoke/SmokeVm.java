package run.cocoon.vmm.smoke;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.Libc;
import run.cocoon.kvm.MemoryRegion;
import run.cocoon.kvm.Regs;
import run.cocoon.kvm.Sregs;
import run.cocoon.kvm.VcpuFd;
import run.cocoon.kvm.VmExit;
import run.cocoon.kvm.VmFd;

/**
 * The smallest useful VM: a real-mode guest that writes a message to the COM1 data port and halts.
 * Proves end to end that this host's KVM runs guests under our bindings.
 */
public final class SmokeVm {
  /** Message length bound: the message lives in the guest's single 64 KiB segment. */
  public static final int MESSAGE_MAX_BYTES = 1024;
  /** A guest that has not halted after this many exits is broken. */
  private static final int EXITS_MAX = 4 * MESSAGE_MAX_BYTES;
  private static final long RAM_BYTES = 0x10000;
  private static final long CODE = 0x1000;
  private static final int COM1_DATA = 0x3f8;
  /** Where Intel VMX may put its real-mode TSS; outside guest RAM. */
  private static final long TSS_ADDRESS = 0xfffb_d000L;

  /** What the guest printed and how its run ended. */
  public record Result(String serialOutput, VmExit lastExit, Duration elapsed) {}

  private SmokeVm() {}

  /**
   * The guest program, 16-bit: print the NUL-terminated string that follows it, then halt.
   * <pre>
   *   mov si, msg      BE lo hi
   *   mov dx, 0x3f8    BA F8 03
   * next:
   *   lodsb            AC
   *   test al, al      84 C0
   *   jz done          74 03
   *   out dx, al       EE
   *   jmp next         EB F8
   * done:
   *   hlt              F4
   * msg: ...
   * </pre>
   */
  static byte[] program(String message) {
    byte[] text = message.getBytes(StandardCharsets.US_ASCII);
    int msg = (int) CODE + 15;
    byte[] code = {
        (byte) 0xbe, (byte) msg, (byte) (msg >>> 8),
        (byte) 0xba, (byte) COM1_DATA, (byte) (COM1_DATA >>> 8),
        (byte) 0xac, (byte) 0x84, (byte) 0xc0, 0x74, 0x03, (byte) 0xee, (byte) 0xeb, (byte) 0xf8,
        (byte) 0xf4};
    byte[] all = new byte[code.length + text.length + 1];
    System.arraycopy(code, 0, all, 0, code.length);
    System.arraycopy(text, 0, all, code.length, text.length);
    return all;
  }

  /** Boots the guest, collects what it writes to COM1 until it halts. */
  public static Result run(String message) {
    if (message.length() > MESSAGE_MAX_BYTES || !StandardCharsets.US_ASCII.newEncoder().canEncode(message)
        || message.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("the message must be printable ASCII, at most "
          + MESSAGE_MAX_BYTES + " characters");
    }
    long start = System.nanoTime();
    try (Kvm kvm = Kvm.open(); VmFd vm = kvm.createVm(); Arena arena = Arena.ofConfined()) {
      vm.setTssAddress(TSS_ADDRESS);
      MemorySegment ram = Libc.mmapAnonymous(RAM_BYTES, arena);
      byte[] program = program(message);
      MemorySegment.copy(MemorySegment.ofArray(program), 0, ram, CODE, program.length);
      vm.setUserMemoryRegion(new MemoryRegion(0, 0, 0, RAM_BYTES, ram.address()));
      try (VcpuFd vcpu = vm.createVcpu(0)) {
        Sregs s = vcpu.getSregs();
        vcpu.setSregs(s.withSegments(s.cs().withSelectorAndBase(0, 0), s.ds().withSelectorAndBase(0, 0)));
        vcpu.setRegs(Regs.INITIAL.with(Regs.Register.RIP, CODE));
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        for (int i = 0; i < EXITS_MAX; i++) {
          VmExit exit = vcpu.run();
          if (exit instanceof VmExit.Io io && io.isOut() && io.port() == COM1_DATA) {
            serial.write((int) io.value());
            continue;
          }
          return new Result(serial.toString(StandardCharsets.US_ASCII), exit,
              Duration.ofNanos(System.nanoTime() - start));
        }
        throw new IllegalStateException("the guest did not halt after " + EXITS_MAX + " exits");
      }
    }
  }
}

package run.cocoon.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import run.cocoon.kvm.VmExit;
import run.cocoon.vmm.devices.IoBus;
import run.cocoon.vmm.devices.MmioBus;
import run.cocoon.vmm.devices.MmioDevice;
import run.cocoon.vmm.devices.PioDevice;

/** Every kind of exit, synthetic, through the handler: what it does and how a VM ends. */
class ExitHandlerTest {
  private final IoBus io = new IoBus();
  private final MmioBus mmio = new MmioBus();

  private static VmEnd end(ExitHandler.Action a) {
    return assertInstanceOf(ExitHandler.Action.End.class, a).end();
  }

  @Test
  void portAndMmioExitsReachTheirDevicesAndTheGuestGoesOn() {
    List<String> seen = new ArrayList<>();
    io.register(0x10, 1, new PioDevice() {
      @Override
      public int read(int offset, int size) {
        return 0x5a;
      }

      @Override
      public void write(int offset, int size, int value) {
        seen.add("pio " + value);
      }
    });
    mmio.register(0xd000_0000L, 0x1000, new MmioDevice() {
      @Override
      public long read(long offset, int size) {
        return 0x1234;
      }

      @Override
      public void write(long offset, int size, long value) {
        seen.add("mmio " + offset + "=" + value);
      }
    });
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment b = arena.allocate(8);
      b.set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
      assertInstanceOf(ExitHandler.Action.Continue.class,
          ExitHandler.handle(new VmExit.Io(true, 1, 0x10, 1, b.asSlice(0, 1)), io, mmio));
      assertInstanceOf(ExitHandler.Action.Continue.class,
          ExitHandler.handle(new VmExit.Io(false, 1, 0x10, 1, b.asSlice(1, 1)), io, mmio));
      assertEquals(0x5a, b.get(ValueLayout.JAVA_BYTE, 1));
      b.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 99);
      assertInstanceOf(ExitHandler.Action.Continue.class,
          ExitHandler.handle(new VmExit.Mmio(0xd000_0008L, 4, true, b.asSlice(0, 4)), io, mmio));
      assertInstanceOf(ExitHandler.Action.Continue.class,
          ExitHandler.handle(new VmExit.Mmio(0xd000_0000L, 4, false, b.asSlice(4, 4)), io, mmio));
      assertEquals(0x1234, b.get(ValueLayout.JAVA_INT_UNALIGNED, 4));
    }
    assertEquals(List.of("pio 7", "mmio 8=99"), seen);
  }

  @Test
  void haltsContinueAndInterruptionsLookAtTheControlState() {
    assertInstanceOf(ExitHandler.Action.Continue.class, ExitHandler.handle(new VmExit.Hlt(), io, mmio));
    assertInstanceOf(ExitHandler.Action.CheckControl.class,
        ExitHandler.handle(new VmExit.Interrupted(), io, mmio));
  }

  @Test
  void eachFatalExitEndsTheVmWithItsOwnStatus() {
    VmEnd off = end(ExitHandler.handle(
        new VmExit.SystemEvent(VmExit.SystemEvent.SHUTDOWN, new long[0]), io, mmio));
    VmEnd reset = end(ExitHandler.handle(
        new VmExit.SystemEvent(VmExit.SystemEvent.RESET, new long[0]), io, mmio));
    VmEnd tripleFault = end(ExitHandler.handle(new VmExit.Shutdown(), io, mmio));
    VmEnd failEntry = end(ExitHandler.handle(new VmExit.FailEntry(0x80000021L, 0), io, mmio));
    VmEnd internal = end(ExitHandler.handle(new VmExit.InternalError(1, new long[0]), io, mmio));
    VmEnd otherEvent = end(ExitHandler.handle(new VmExit.SystemEvent(99, new long[0]), io, mmio));
    VmEnd unknown = end(ExitHandler.handle(new VmExit.Unknown(1234, "?"), io, mmio));

    assertInstanceOf(VmEnd.PoweredOff.class, off);
    assertInstanceOf(VmEnd.Rebooted.class, reset);
    for (VmEnd crash : List.of(tripleFault, failEntry, internal, otherEvent, unknown)) {
      assertInstanceOf(VmEnd.Crashed.class, crash);
    }
    assertTrue(tripleFault.describe().contains("triple fault"), tripleFault.describe());
    assertTrue(failEntry.describe().contains("0x80000021"), failEntry.describe());
    assertTrue(internal.describe().contains("suberror 1"), internal.describe());
    assertTrue(otherEvent.describe().contains("99"), otherEvent.describe());
    assertTrue(unknown.describe().contains("1234"), unknown.describe());
    Set<Integer> codes = new HashSet<>(List.of(off.exitCode(), reset.exitCode(),
        tripleFault.exitCode(), new VmEnd.Stopped("host").exitCode()));
    assertEquals(4, codes.size(), "powered off, rebooted, crashed and stopped have distinct statuses");
  }
}

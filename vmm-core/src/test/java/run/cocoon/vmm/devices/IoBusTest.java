package run.cocoon.vmm.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import run.cocoon.kvm.VmExit;

class IoBusTest {
  @Test
  void routesByRangeAndServesUnclaimedPortsAsEmptyBus() {
    List<String> writes = new ArrayList<>();
    IoBus bus = new IoBus();
    bus.register(0x3f8, 8, new PioDevice() {
      @Override
      public int read(int offset, int size) {
        return 0x40 + offset;
      }

      @Override
      public void write(int offset, int size, int value) {
        writes.add(offset + "=" + value);
      }
    });
    assertThrows(IllegalArgumentException.class, () -> bus.register(0x3fc, 2, null));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = arena.allocate(8);
      bus.handle(new VmExit.Io(false, 1, 0x3fd, 1, data.asSlice(0, 1)));
      assertEquals(0x45, data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
      bus.handle(new VmExit.Io(false, 2, 0x2f8, 1, data.asSlice(0, 2)));
      assertEquals(-1, data.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0), "all ones");
      data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 'a');
      data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 1, (byte) 'b');
      bus.handle(new VmExit.Io(true, 1, 0x3f8, 2, data.asSlice(0, 2))); // rep outsb
      assertEquals(List.of("0=97", "0=98"), writes);
      for (int i = 0; i < 1000; i++) { // a storm of unhandled accesses is rate limited
        bus.handle(new VmExit.Io(true, 1, 0x80, 1, data.asSlice(0, 1)));
      }
    }
  }

  @Test
  void mmioUnclaimedReadsZero() {
    MmioBus bus = new MmioBus();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = arena.allocate(8);
      data.fill((byte) 0x55);
      bus.handle(new VmExit.Mmio(0xd000_0000L, 4, false, data.asSlice(0, 4)));
      assertEquals(0, data.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0));
    }
  }
}

package run.cocoon.vmm.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
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
    }
  }

  @Test
  void aStormOfUnhandledAccessesIsRateLimited() {
    IoBus bus = new IoBus();
    List<String> logged = new ArrayList<>();
    Logger logger = Logger.getLogger("cocoon.vmm.pio");
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        synchronized (logged) {
          logged.add(r.getMessage());
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    logger.addHandler(capture);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = arena.allocate(1);
      long start = System.nanoTime();
      for (int i = 0; i < 1000; i++) {
        bus.handle(new VmExit.Io(true, 1, 0x80, 1, data));
      }
      long windows = 1 + (System.nanoTime() - start) / RateLimitedLog.WINDOW_NANOS;
      long warnings;
      synchronized (logged) {
        warnings = logged.stream().filter(m -> m.startsWith("write to unhandled port 0x80")).count();
      }
      assertTrue(warnings >= 1, "the first unhandled access is reported");
      assertTrue(warnings <= windows * RateLimitedLog.MESSAGES_PER_WINDOW,
          warnings + " warnings for 1000 accesses in " + windows + " window(s)");
    } finally {
      logger.removeHandler(capture);
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

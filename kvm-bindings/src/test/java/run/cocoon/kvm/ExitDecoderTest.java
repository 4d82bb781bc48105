package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Exit decoding from synthetic kvm_run contents: no KVM needed. */
class ExitDecoderTest {
  private static final long EXIT = Layouts.offset(Layouts.KVM_RUN, "exit");
  private final Arena arena = Arena.ofConfined();
  private final MemorySegment run = arena.allocate(4096, 8);

  @AfterEach
  void close() {
    arena.close();
  }

  private void reason(int r) {
    run.set(JAVA_INT, ExitDecoder.EXIT_REASON, r);
  }

  @Test
  void ioOutWithDataInTheMapping() {
    reason(ExitDecoder.KVM_EXIT_IO);
    run.set(JAVA_BYTE, EXIT, (byte) 1);
    run.set(JAVA_BYTE, EXIT + 1, (byte) 2);
    run.set(JAVA_SHORT, EXIT + 2, (short) 0xcf8);
    run.set(JAVA_INT, EXIT + 4, 1);
    run.set(JAVA_LONG, EXIT + 8, 0x400);
    run.set(JAVA_SHORT, 0x400, (short) 0xbeef);
    VmExit.Io io = assertInstanceOf(VmExit.Io.class, ExitDecoder.decode(run));
    assertTrue(io.isOut());
    assertEquals(0xcf8, io.port());
    assertEquals(2, io.size());
    assertEquals(0xbeef, io.value());
  }

  @Test
  void ioInValueIsWrittenIntoTheMapping() {
    reason(ExitDecoder.KVM_EXIT_IO);
    run.set(JAVA_BYTE, EXIT + 1, (byte) 4);
    run.set(JAVA_SHORT, EXIT + 2, (short) 0xffff);
    run.set(JAVA_INT, EXIT + 4, 1);
    run.set(JAVA_LONG, EXIT + 8, 0x800);
    VmExit.Io io = assertInstanceOf(VmExit.Io.class, ExitDecoder.decode(run));
    assertFalse(io.isOut());
    assertEquals(0xffff, io.port());
    io.setValue(0xdead_beefL);
    assertEquals(0xdead_beef, run.get(JAVA_INT, 0x800));
  }

  @Test
  void ioDataOutsideTheMappingIsNotDecodedAsIo() {
    reason(ExitDecoder.KVM_EXIT_IO);
    run.set(JAVA_BYTE, EXIT + 1, (byte) 4);
    run.set(JAVA_INT, EXIT + 4, 1000);       // 4000 bytes from offset 0x800 runs past 4096
    run.set(JAVA_LONG, EXIT + 8, 0x800);
    assertInstanceOf(VmExit.Unknown.class, ExitDecoder.decode(run));
    run.set(JAVA_INT, EXIT + 4, 1);
    run.set(JAVA_LONG, EXIT + 8, -8);        // negative offset
    assertInstanceOf(VmExit.Unknown.class, ExitDecoder.decode(run));
    run.set(JAVA_LONG, EXIT + 8, 0x800);
    run.set(JAVA_BYTE, EXIT + 1, (byte) 3);  // not an I/O width
    run.set(JAVA_BYTE, EXIT + 1, (byte) 0);
    assertInstanceOf(VmExit.Unknown.class, ExitDecoder.decode(run));
  }

  @Test
  void mmioWriteAndBadLength() {
    reason(ExitDecoder.KVM_EXIT_MMIO);
    run.set(JAVA_LONG, EXIT, 0xd000_0000L);
    run.set(JAVA_LONG, EXIT + 8, 0x0102_0304_0506_0708L);
    run.set(JAVA_INT, EXIT + 16, 8);
    run.set(JAVA_BYTE, EXIT + 20, (byte) 1);
    VmExit.Mmio m = assertInstanceOf(VmExit.Mmio.class, ExitDecoder.decode(run));
    assertTrue(m.isWrite());
    assertEquals(0xd000_0000L, m.address());
    assertEquals(0x0102_0304_0506_0708L, m.value());
    run.set(JAVA_INT, EXIT + 16, 9);
    assertInstanceOf(VmExit.Unknown.class, ExitDecoder.decode(run));
  }

  @Test
  void simpleExits() {
    reason(ExitDecoder.KVM_EXIT_HLT);
    assertInstanceOf(VmExit.Hlt.class, ExitDecoder.decode(run));
    reason(ExitDecoder.KVM_EXIT_SHUTDOWN);
    assertInstanceOf(VmExit.Shutdown.class, ExitDecoder.decode(run));
    reason(ExitDecoder.KVM_EXIT_INTR);
    assertInstanceOf(VmExit.Interrupted.class, ExitDecoder.decode(run));
    reason(ExitDecoder.KVM_EXIT_FAIL_ENTRY);
    run.set(JAVA_LONG, EXIT, 0x80000021L);
    run.set(JAVA_INT, EXIT + 8, 3);
    assertEquals(new VmExit.FailEntry(0x80000021L, 3), ExitDecoder.decode(run));
    reason(99);
    assertEquals(99, assertInstanceOf(VmExit.Unknown.class, ExitDecoder.decode(run)).reason());
  }

  @Test
  void internalErrorAndSystemEventCarryBoundedData() {
    reason(ExitDecoder.KVM_EXIT_INTERNAL_ERROR);
    run.set(JAVA_INT, EXIT, 1);
    run.set(JAVA_INT, EXIT + 4, 2);
    run.set(JAVA_LONG, EXIT + 8, 7);
    run.set(JAVA_LONG, EXIT + 16, 8);
    VmExit.InternalError e = assertInstanceOf(VmExit.InternalError.class, ExitDecoder.decode(run));
    assertEquals(1, e.suberror());
    assertArrayEquals(new long[] {7, 8}, e.data());
    run.set(JAVA_INT, EXIT + 4, Integer.MAX_VALUE); // hostile ndata is clamped
    assertEquals(16, assertInstanceOf(VmExit.InternalError.class, ExitDecoder.decode(run)).data().length);

    reason(ExitDecoder.KVM_EXIT_SYSTEM_EVENT);
    run.set(JAVA_INT, EXIT, VmExit.SystemEvent.RESET);
    run.set(JAVA_INT, EXIT + 4, 0);
    VmExit.SystemEvent s = assertInstanceOf(VmExit.SystemEvent.class, ExitDecoder.decode(run));
    assertEquals(VmExit.SystemEvent.RESET, s.type());
    assertEquals(0, s.data().length);
  }
}

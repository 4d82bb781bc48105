package run.cocoon.vmm.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.devices.legacy.AcpiPowerPorts;
import run.cocoon.vmm.devices.legacy.ConsoleOutput;
import run.cocoon.vmm.devices.legacy.I8042;
import run.cocoon.vmm.devices.legacy.PlatformEvents;
import run.cocoon.vmm.devices.legacy.PvPanic;
import run.cocoon.vmm.devices.legacy.Serial8250;

class LegacyDevicesTest {
  private static final class Events implements PlatformEvents {
    final List<String> seen = new ArrayList<>();

    @Override
    public void powerOff() {
      seen.add("off");
    }

    @Override
    public void reset() {
      seen.add("reset");
    }

    @Override
    public void panic() {
      seen.add("panic");
    }
  }

  @Test
  void serialTransmitsAndRaisesThrEmpty() {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    AtomicInteger irqs = new AtomicInteger();
    try (ConsoleOutput out = new ConsoleOutput(sink)) {
      Serial8250 uart = new Serial8250(out, irqs::incrementAndGet);
      assertEquals(0x01, uart.read(2, 1) & 0x0f, "no interrupt pending");
      uart.write(1, 1, 0x02); // IER: THR empty
      assertEquals(1, irqs.get(), "enabling THRE with an empty THR interrupts at once");
      assertEquals(0x02, uart.read(2, 1) & 0x0f);
      assertEquals(0x01, uart.read(2, 1) & 0x0f, "reading IIR acknowledged it");
      for (byte b : "ok\n".getBytes(StandardCharsets.US_ASCII)) {
        uart.write(0, 1, b);
      }
      assertEquals(4, irqs.get());
      assertEquals(0x60, uart.read(5, 1) & 0x60, "LSR: THR and transmitter empty");
      out.close(2000);
    }
    assertEquals("ok\n", sink.toString(StandardCharsets.US_ASCII));
  }

  @Test
  void serialReceivesHostInputWithDataReadyAndInterrupt() {
    AtomicInteger irqs = new AtomicInteger();
    try (ConsoleOutput out = new ConsoleOutput(OutputStream.nullOutputStream())) {
      Serial8250 uart = new Serial8250(out, irqs::incrementAndGet);
      uart.write(1, 1, 0x01); // IER: data available
      byte[] in = new byte[100];
      assertEquals(Serial8250.RX_FIFO_BYTES, uart.enqueueInput(in, 0, in.length), "FIFO bounded");
      assertEquals(1, irqs.get());
      assertEquals(0x04, uart.read(2, 1) & 0x0f);
      assertEquals(0x01, uart.read(5, 1) & 0x01, "LSR data ready");
      for (int i = 0; i < Serial8250.RX_FIFO_BYTES; i++) {
        uart.read(0, 1);
      }
      assertEquals(0, uart.read(5, 1) & 0x01);
    }
  }

  @Test
  void serialLoopbackPassesTheDriverProbe() {
    try (ConsoleOutput out = new ConsoleOutput(OutputStream.nullOutputStream())) {
      Serial8250 uart = new Serial8250(out, () -> { });
      uart.write(7, 1, 0xa5);
      assertEquals(0xa5, uart.read(7, 1), "scratch register");
      uart.write(4, 1, 0x1a); // loopback, OUT2, RTS
      assertEquals(0x90, uart.read(6, 1) & 0xf0, "MSR in loopback: CTS and DCD");
      uart.write(3, 1, 0x83); // DLAB
      uart.write(0, 1, 0x01);
      assertEquals(0x01, uart.read(0, 1), "divisor latch");
    }
  }

  @Test
  void floodedConsoleDropsInsteadOfBlockingOrGrowing() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        try {
          release.await(); // a host that stopped reading
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    ConsoleOutput out = new ConsoleOutput(stuck);
    Serial8250 uart = new Serial8250(out, () -> { });
    long start = System.nanoTime();
    int written = 10 * 1024 * 1024;
    for (int i = 0; i < written; i++) {
      uart.write(0, 1, 'x');
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(out.dropped() >= written - ConsoleOutput.BUFFER_BYTES - 4096,
        "dropped " + out.dropped());
    assertTrue(millis < 30_000, "10 MiB into a stuck console took " + millis + " ms");
    release.countDown();
    out.close(2000);
  }

  @Test
  void i8042ResetAndAcpiPowerAndPanic() {
    Events e = new Events();
    I8042 kbd = new I8042(e);
    assertEquals(0, kbd.read(4, 1), "status: buffers empty");
    kbd.write(4, 1, 0xd1); // another command: ignored
    kbd.write(4, 1, 0xfe);
    AcpiPowerPorts acpi = new AcpiPowerPorts(e);
    acpi.write(0, 1, 5 << 2); // S5 type without SLP_EN: nothing
    acpi.write(0, 1, 5 << 2 | 1 << 5);
    acpi.write(2, 1, 0x01);
    new PvPanic(e).write(0, 1, PvPanic.PANICKED);
    assertEquals(List.of("reset", "off", "reset", "panic"), e.seen);
  }
}

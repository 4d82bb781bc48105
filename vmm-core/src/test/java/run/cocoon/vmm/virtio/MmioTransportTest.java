package run.cocoon.vmm.virtio;

import static org.junit.jupiter.api.Assertions.*;
import static run.cocoon.vmm.virtio.MmioTransport.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/** The virtio-mmio register file and state machine, driven as Linux's driver does and abused. */
class MmioTransportTest {
  /** A device that records what the transport tells it. */
  static final class RecordingDevice implements VirtioDevice {
    final List<String> events = new ArrayList<>();
    ActiveDevice active;

    @Override public int deviceId() { return 42; }
    @Override public String name() { return "test0"; }
    @Override public long features() { return Virtio.bit(3); }
    @Override public int queueCount() { return 2; }
    @Override public int maxQueueSize() { return 16; }
    @Override public int configSize() { return 8; }
    @Override public long readConfig(int offset, int size) { return 0x1122_3344_5566_7788L >>> (8 * offset) & ((1L << (8 * size)) - 1); }
    @Override public void activate(ActiveDevice a) { active = a; events.add("activate"); }
    @Override public void queueNotified(int index) { events.add("notify " + index); }
    @Override public void reset() { active = null; events.add("reset"); }
  }

  private final RecordingDevice device = new RecordingDevice();
  private final VirtioDriver driver = new VirtioDriver(device);

  @AfterEach
  void close() {
    driver.close();
  }

  @Test
  void identifiesAsAVersion2Device() {
    assertEquals(MAGIC, driver.readRegister(REG_MAGIC));
    assertEquals(2, driver.readRegister(REG_VERSION));
    assertEquals(42, driver.readRegister(REG_DEVICE_ID));
    assertEquals(VENDOR_ID, driver.readRegister(REG_VENDOR_ID));
    long features = driver.deviceFeatures();
    assertEquals(Virtio.bit(3) | Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(Virtio.F_EVENT_IDX)
        | Virtio.bit(Virtio.F_INDIRECT_DESC), features);
    assertEquals(0x88, driver.config(0, 1));
    assertEquals(0x5566_7788L, driver.config(0, 4));
  }

  @Test
  void theLinuxProbeSequenceActivatesTheDevice() {
    driver.start(8);
    assertEquals(List.of("activate"), device.events);
    assertEquals(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK
        | Virtio.STATUS_DRIVER_OK, driver.status());
    assertTrue(device.active.acked(Virtio.F_EVENT_IDX));
    assertEquals(2, device.active.queues().size());
    driver.kick(1);
    assertEquals("notify 1", device.events.getLast());
    driver.setStatus(0);
    assertEquals("reset", device.events.getLast());
    assertEquals(0, driver.status());
  }

  @Test
  void illegalStatusTransitionsAreIgnored() {
    driver.setStatus(Virtio.STATUS_DRIVER_OK); // skipping ahead
    assertEquals(0, driver.status());
    driver.setStatus(Virtio.STATUS_ACKNOWLEDGE);
    driver.setStatus(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_FEATURES_OK); // skipping DRIVER
    assertEquals(Virtio.STATUS_ACKNOWLEDGE, driver.status());
    driver.setStatus(Virtio.STATUS_DRIVER); // clearing a bit
    assertEquals(Virtio.STATUS_ACKNOWLEDGE, driver.status());
    assertTrue(device.events.isEmpty());
  }

  @Test
  void withoutVersion1FeaturesOkIsRefused() {
    driver.negotiate(Virtio.bit(3));
    assertEquals(0, driver.status() & Virtio.STATUS_FEATURES_OK);
  }

  @Test
  void unofferedFeaturesAreIgnored() {
    driver.setStatus(Virtio.STATUS_ACKNOWLEDGE);
    driver.setStatus(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER);
    driver.writeRegister(REG_DRIVER_FEATURES_SEL, 0);
    driver.writeRegister(REG_DRIVER_FEATURES, 1 << 5); // not offered
    driver.writeRegister(REG_DRIVER_FEATURES_SEL, 1);
    driver.writeRegister(REG_DRIVER_FEATURES, 1); // VERSION_1
    driver.setStatus(Virtio.STATUS_ACKNOWLEDGE | Virtio.STATUS_DRIVER | Virtio.STATUS_FEATURES_OK);
    driver.start(8); // renegotiates from reset and activates
    assertFalse(device.active.acked(5));
  }

  @Test
  void queueChangesAfterDriverOkAreIgnored() {
    driver.start(8);
    DriverQueue q0 = driver.queue(0);
    driver.writeRegister(REG_QUEUE_SEL, 0);
    driver.writeRegister(REG_QUEUE_NUM, 4);
    driver.writeAddress(REG_QUEUE_DESC_LOW, 0x1234);
    driver.writeRegister(REG_QUEUE_READY, 0);
    assertEquals(1, driver.readRegister(REG_QUEUE_READY));
    assertEquals(q0.config(), device.active.queue(0).config());
  }

  @Test
  void aBadQueueIsNotMadeReadyAndActivationAsksForReset() {
    driver.negotiate(driver.deviceFeatures());
    driver.writeRegister(REG_QUEUE_SEL, 0);
    driver.writeRegister(REG_QUEUE_NUM, 3); // not a power of two
    driver.writeAddress(REG_QUEUE_DESC_LOW, 0x10000);
    driver.writeAddress(REG_QUEUE_DRIVER_LOW, 0x11000);
    driver.writeAddress(REG_QUEUE_DEVICE_LOW, 0x12000);
    driver.writeRegister(REG_QUEUE_READY, 1);
    assertEquals(0, driver.readRegister(REG_QUEUE_READY));
    driver.writeRegister(REG_QUEUE_NUM, 8);
    driver.writeAddress(REG_QUEUE_DESC_LOW, 0x7fff_ffff_0000L); // garbage address
    driver.writeRegister(REG_QUEUE_READY, 1);
    assertEquals(0, driver.readRegister(REG_QUEUE_READY));
    driver.setStatus(driver.status() | Virtio.STATUS_DRIVER_OK);
    assertNotEquals(0, driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    assertFalse(device.events.contains("activate"));
    assertTrue(driver.interrupts() > 0, "config interrupt tells the driver");
    driver.setStatus(0);
    assertEquals(0, driver.status());
  }

  @Test
  void wrongWidthsUnknownOffsetsAndNotifiesBeforeDriverOkChangeNothing() {
    assertEquals(0, driver.transport().read(REG_MAGIC, 2));
    assertEquals(0, driver.transport().read(0x0f0, 4));
    driver.transport().write(REG_STATUS, 1, 1);
    assertEquals(0, driver.status());
    driver.transport().write(0x0f0, 4, 7);
    driver.transport().write(REG_MAGIC, 4, 7);
    assertEquals(MAGIC, driver.readRegister(REG_MAGIC));
    driver.kick(0);
    assertTrue(device.events.isEmpty());
    driver.start(8);
    driver.kick(7); // no such queue
    driver.kick(-1);
    assertEquals(List.of("activate"), device.events);
    assertEquals(0, driver.config(8, 1), "config read past the end");
    assertEquals(0, driver.config(0, 3), "3-byte config read");
  }

  @Test
  void aQueueSelectorWithTheTopBitSetSelectsNoQueue() {
    for (int sel : new int[] {0x8000_0000, -1, 0xf7ba_0000}) {
      driver.writeRegister(REG_QUEUE_SEL, sel);
      assertEquals(0, driver.readRegister(REG_QUEUE_NUM_MAX), Integer.toHexString(sel));
      assertEquals(0, driver.readRegister(REG_QUEUE_READY), Integer.toHexString(sel));
    }
  }

  @Test
  void interruptStatusIsSetByTheDeviceAndClearedByAck() {
    driver.start(8);
    device.active.signals().usedBuffers();
    assertEquals(Virtio.INTERRUPT_USED_BUFFER, driver.readRegister(REG_INTERRUPT_STATUS));
    assertEquals(1, driver.interrupts());
    driver.writeRegister(REG_INTERRUPT_ACK, Virtio.INTERRUPT_USED_BUFFER);
    assertEquals(0, driver.readRegister(REG_INTERRUPT_STATUS));
    int generation = driver.readRegister(REG_CONFIG_GENERATION);
    device.active.signals().configChanged();
    assertEquals(generation + 1, driver.readRegister(REG_CONFIG_GENERATION));
  }

  @Test
  void aBrokenRingStopsTheDeviceUntilReset() {
    driver.start(8);
    device.active.signals().needsReset("test");
    assertNotEquals(0, driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    driver.setStatus(0);
    assertEquals(0, driver.status());
    driver.start(8);
    assertEquals(0, driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
  }
}

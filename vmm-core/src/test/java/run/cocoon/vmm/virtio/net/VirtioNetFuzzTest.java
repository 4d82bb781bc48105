package run.cocoon.vmm.virtio.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

/**
 * Arbitrary transmit queues: descriptor tables, indirect tables, heads and avail indices written
 * by the fuzzer into guest memory, then one kick. Whatever the guest wrote, the kick returns, no
 * exception escapes, every frame that reaches the host is within bounds, and either every request
 * is answered or the device asked for a reset.
 *
 * <p>In the normal test run Jazzer replays the seeds under
 * {@code src/test/resources/run/cocoon/vmm/virtio/net/VirtioNetFuzzTestInputs/}; fuzz with
 * {@code JAZZER_FUZZ=1 mvn -pl vmm-core -am test -Dtest=VirtioNetFuzzTest} (each target runs for
 * its {@code maxDuration}).
 */
class VirtioNetFuzzTest {
  /** Guest bytes the fuzzer fills and points descriptors into. */
  private static final int HEAP_BYTES = VirtioNet.MAX_FRAME_BYTES + 4096;

  @FuzzTest(maxDuration = "60s")
  void transmitChains(FuzzedDataProvider data) {
    int queueSize = 1 << data.consumeInt(0, 5);
    long features = Virtio.bit(Virtio.F_VERSION_1) | Virtio.bit(VirtioNet.F_MAC)
        | (data.consumeBoolean() ? Virtio.bit(Virtio.F_INDIRECT_DESC) : 0)
        | (data.consumeBoolean() ? Virtio.bit(Virtio.F_EVENT_IDX) : 0);
    RecordingPort port = new RecordingPort();
    VirtioNet device = new VirtioNet("net-fuzz", port, MacAddress.parse("02:00:00:00:00:01"));
    VirtioDriver driver = new VirtioDriver(device).start(features, queueSize);
    try {
      DriverQueue tx = driver.queue(VirtioNet.TX_QUEUE);
      long heap = tx.allocate(HEAP_BYTES);
      byte[] fill = data.consumeBytes(data.consumeInt(0, 4096));
      driver.memory().write(heap + data.consumeInt(0, HEAP_BYTES - fill.length), fill);

      int descriptors = data.consumeInt(0, 2 * queueSize);
      for (int i = 0; i < descriptors; i++) {
        int index = data.consumeInt(0, queueSize - 1);
        long address = data.consumeBoolean()
            ? heap + data.consumeInt(0, HEAP_BYTES)
            : data.consumeLong();
        int length = data.consumeBoolean()
            ? data.consumeInt(0, VirtioNet.MAX_FRAME_BYTES + 16)
            : data.consumeInt();
        tx.writeDescriptor(index, address, length, data.consumeInt(0, 7),
            data.consumeInt(0, 0xffff));
      }
      int published = data.consumeInt(0, queueSize);
      for (int i = 0; i < published; i++) {
        tx.publish(data.consumeInt(0, 0xffff));
      }
      boolean lyingIndex = data.consumeBoolean();
      if (lyingIndex) {
        tx.setAvailIdx(data.consumeInt(0, 0xffff));
      }

      driver.kick(VirtioNet.TX_QUEUE);

      for (long length : port.written) {
        assertTrue(length >= VirtioNet.HEADER_BYTES && length <= VirtioNet.MAX_FRAME_BYTES,
            "frame of " + length + " bytes reached the host");
      }
      VirtioNet.Stats stats = device.stats();
      assertEquals(port.written.size(), stats.txFrames());
      boolean needsReset = (driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET) != 0;
      if (!needsReset) {
        assertEquals(lyingIndex ? tx.usedIdx() : published, tx.usedIdx());
        assertTrue(stats.txFrames() + stats.txDropped() <= tx.usedIdx());
        for (DriverQueue.Used used : tx.takeUsed()) {
          assertEquals(0, used.length(), "a transmit request is answered with nothing written");
        }
      } else {
        assertTrue(lyingIndex, "only a lying avail index breaks the ring");
      }
    } finally {
      driver.close();
      device.close();
    }
  }
}

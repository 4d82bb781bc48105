package run.cocoon.vmm.virtio.rng;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import run.cocoon.vmm.virtio.Virtio;
import run.cocoon.vmm.virtio.testing.DriverQueue;
import run.cocoon.vmm.virtio.testing.VirtioDriver;

class VirtioRngTest {
  private final VirtioDriver driver = new VirtioDriver(new VirtioRng("rng0")).start(16);
  private final DriverQueue q = driver.queue(0);

  @AfterEach
  void close() {
    driver.close();
  }

  @Test
  void fillsWritableBuffersWithRandomBytes() {
    DriverQueue.Buffer a = q.writable(64);
    DriverQueue.Buffer b = q.writable(64);
    int head = q.add(List.of(a, b));
    driver.kick(0);
    assertEquals(List.of(new DriverQueue.Used(head, 128)), q.takeUsed());
    byte[] bytes = q.read(a.address(), 64);
    assertFalse(java.util.Arrays.equals(new byte[64], bytes), "64 random bytes are not all zero");
    assertEquals(1, driver.interrupts());
  }

  @Test
  void aHugeRequestIsCapped() {
    int big = VirtioRng.MAX_BYTES_PER_REQUEST * 2;
    DriverQueue.Buffer a = q.writable(big);
    q.add(List.of(a));
    driver.kick(0);
    assertEquals(VirtioRng.MAX_BYTES_PER_REQUEST, q.takeUsed().getFirst().length());
    byte[] tail = q.read(a.address() + VirtioRng.MAX_BYTES_PER_REQUEST, 4096);
    assertArrayEquals(new byte[4096], tail, "bytes past the cap are untouched");
  }

  @Test
  void aReadableBufferFailsTheRequestWithoutWriting() {
    DriverQueue.Buffer r = q.readable(new byte[] {1, 2, 3});
    q.add(List.of(r, q.writable(8)));
    driver.kick(0);
    assertEquals(0, q.takeUsed().getFirst().length());
  }

  @Test
  void aBrokenRingStopsTheDevice() {
    q.setAvailIdx(100);
    driver.kick(0);
    assertNotEquals(0, driver.status() & Virtio.STATUS_DEVICE_NEEDS_RESET);
    assertTrue(q.takeUsed().isEmpty());
  }
}

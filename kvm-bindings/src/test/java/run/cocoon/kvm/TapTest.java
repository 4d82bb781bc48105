package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/** TAP names, setup ioctls and frame I/O on a real interface (skipped without /dev/net/tun). */
class TapTest {
  private static final Path SYS_NET = Path.of("/sys/class/net");

  @Test
  void badNamesAreRejectedBeforeAnySyscall() {
    for (String bad : List.of("", "a234567890123456", ".", "..", "tap/0", "tap 0", "tap%d",
        "tap:1", "täp", "tap\n", "tap\0")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Tap.open(bad), "name " + bad);
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Tap.open(null));
    Tap.checkName("a23456789012345");
    Tap.checkName("tap-0.vm_1");
  }

  @Test
  void pollSetReportsReadiness() {
    try (EventFd event = EventFd.createNonBlocking(); PollSet poll = new PollSet(2)) {
      poll.set(0, event.fd(), Libc.POLLIN);
      assertEquals(0, poll.poll(0));
      event.write(1);
      assertEquals(1, poll.poll(1000));
      assertEquals(Libc.POLLIN, poll.ready(0));
      assertEquals(0, poll.ready(1));
      assertThrows(IndexOutOfBoundsException.class, () -> poll.set(2, 0, 0));
    }
  }

  @Test
  void opensAFreshInterfaceAndRemovesItOnClose() throws Exception {
    assumeTrue(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun on this host");
    String name = "cctap" + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
    try (Tap tap = Tap.open(name)) {
      assertEquals(name, tap.name());
      assertTrue(Files.exists(SYS_NET.resolve(name)), "interface " + name + " exists");
      tap.setOffload(Tap.TUN_F_CSUM | Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6 | Tap.TUN_F_UFO);
      tap.setOffload(0);
      SyscallException e = assertThrows(SyscallException.class, () -> tap.setOffload(Tap.TUN_F_TSO4));
      assertEquals(Errno.EINVAL, e.errno(), "TSO without checksum offload is refused");
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment buffer = arena.allocate(2048);
        assertEquals(-Errno.EAGAIN, tap.read(buffer), "nothing to read from a down interface");
        // A frame written to a down interface is refused (EIO), not queued.
        MemorySegment frame = arena.allocate(Tap.VNET_HDR_BYTES + 60);
        frame.fill((byte) 0);
        frame.set(JAVA_BYTE, Tap.VNET_HDR_BYTES, (byte) 0xff);
        SyscallException down = assertThrows(SyscallException.class, () -> tap.write(frame));
        assertEquals(Errno.EIO, down.errno());
      }
    }
    assertFalse(Files.exists(SYS_NET.resolve(name)), "interface " + name + " is gone");
  }

  @Test
  void socketPairCarriesDatagrams() {
    int[] fds = Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocateFrom("frame");
      MemorySegment in = arena.allocate(64);
      assertEquals(-Errno.EAGAIN, Libc.read(fds[1], in));
      assertEquals(out.byteSize(), Libc.write(fds[0], out));
      assertEquals(out.byteSize(), Libc.read(fds[1], in));
      assertEquals("frame", in.getString(0));
    } finally {
      Libc.close(fds[0]);
      Libc.close(fds[1]);
    }
  }
}

package run.cocoon.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import run.cocoon.vmm.layout.Layout;

class BootInputsTest {
  @Test
  void commandLineLimits() throws Exception {
    String longest = "x".repeat(Layout.CMDLINE_MAX_BYTES - 1);
    assertEquals(longest, CommandLine.of(longest, Long.MAX_VALUE).text());
    assertThrows(BootException.InvalidCommandLine.class,
        () -> CommandLine.of(longest + "x", Long.MAX_VALUE));
    assertThrows(BootException.InvalidCommandLine.class, () -> CommandLine.of("12345", 4));
    assertEquals("", CommandLine.of("", 0).text());
    assertThrows(BootException.InvalidCommandLine.class, () -> CommandLine.of("a\tb", 100));
    assertThrows(BootException.InvalidCommandLine.class, () -> CommandLine.of("\u007f", 100));
  }

  @Test
  void initrdGoesToTheTopBelowEveryCeiling() throws Exception {
    long mib = 1 << 20;
    // Top of RAM, page-aligned down.
    assertEquals(new InitrdPlacement(64 * mib - 8192, 5000),
        InitrdPlacement.place(5000, 64 * mib, Layout.FOUR_GIB - 1, 20 * mib));
    // initrd_addr_max (inclusive) below the end of RAM wins.
    assertEquals(new InitrdPlacement(32 * mib - 4096, 4096),
        InitrdPlacement.place(4096, 64 * mib, 32 * mib - 1, 20 * mib));
    // Exactly fills the gap above the kernel.
    assertEquals(new InitrdPlacement(20 * mib, 44 * mib),
        InitrdPlacement.place(44 * mib, 64 * mib, Layout.FOUR_GIB - 1, 20 * mib));
    assertThrows(BootException.InitrdDoesNotFit.class,
        () -> InitrdPlacement.place(44 * mib + 1, 64 * mib, Layout.FOUR_GIB - 1, 20 * mib));
    assertThrows(BootException.InitrdDoesNotFit.class,
        () -> InitrdPlacement.place(Long.MAX_VALUE, 64 * mib, Layout.FOUR_GIB - 1, 20 * mib));
    assertThrows(BootException.InitrdDoesNotFit.class,
        () -> InitrdPlacement.place(4096, 64 * mib, 16 * mib, 20 * mib));
  }
}

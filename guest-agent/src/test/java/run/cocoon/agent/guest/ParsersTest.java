package run.cocoon.agent.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Kernel command line, mountinfo and uptime parsing. */
class ParsersTest {
  @Test
  void commandLineWordsQuotesAndLaterWins() {
    KernelCommandLine c = KernelCommandLine.parse(
        "console=ttyS0 quiet x=\"a b\" cocoon.time=1700000000123 acpi=off acpi=on\n");
    assertEquals(Optional.of("ttyS0"), c.value("console"));
    assertTrue(c.has("quiet"));
    assertEquals(Optional.of(""), c.value("quiet"));
    assertEquals(Optional.of("a b"), c.value("x"));
    assertEquals(Optional.of("on"), c.value("acpi"));
    assertEquals(Optional.of(Instant.ofEpochMilli(1700000000123L)), c.hostTime());
  }

  @Test
  void aBadTimeIsIgnored() {
    assertEquals(Optional.empty(), KernelCommandLine.parse("cocoon.time=soon").hostTime());
    assertEquals(Optional.empty(), KernelCommandLine.parse("").hostTime());
  }

  @Test
  void mountinfoTargetsAreDecoded() {
    String mountinfo = """
        22 1 0:21 / / rw - rootfs rootfs rw
        23 22 0:22 / /proc rw,nosuid - proc proc rw
        24 22 0:23 / /mnt/with\\040space rw - tmpfs tmpfs rw
        """;
    Set<String> points = GuestMounts.mountPoints(mountinfo);
    assertEquals(Set.of("/", "/proc", "/mnt/with space"), points);
    List<GuestMounts.Mount> missing = GuestMounts.missing(points);
    assertFalse(missing.stream().anyMatch(m -> m.target().equals("/proc")));
    assertEquals("/sys", missing.getFirst().target());
    assertEquals(GuestMounts.STANDARD.size() - 1, missing.size());
  }

  @Test
  void aBackslashWithoutOctalDigitsStays() {
    assertEquals("a\\b", GuestMounts.unescape("a\\b"));
    assertEquals("end\\04", GuestMounts.unescape("end\\04"));
  }

  @Test
  void everyMountTargetLiesOnAnEarlierOne() {
    List<GuestMounts.Mount> all = GuestMounts.STANDARD;
    for (int i = 1; i < all.size(); i++) {
      String target = all.get(i).target();
      boolean onRoot = target.lastIndexOf('/') == 0;
      boolean onEarlier = all.subList(0, i).stream().anyMatch(m -> target.startsWith(m.target() + "/"));
      assertTrue(onRoot || onEarlier, target);
    }
  }

  @Test
  void uptime() {
    assertEquals(12340, Uptime.parseMillis("12.34 56.78\n"));
    assertEquals(1005, Uptime.parseMillis("1.005"));
    assertTrue(Uptime.millis() > 0);
  }
}

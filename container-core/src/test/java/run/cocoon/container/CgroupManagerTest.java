package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CgroupManagerTest {
  private static final List<String> HYBRID_MOUNTS = List.of(
      "30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
      "33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "34 30 0:30 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
      "35 30 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
      "36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
  private static final List<String> HYBRID_SELF = List.of(
      "9:name=systemd:/", "8:pids:/", "4:memory:/process_api/abc", "2:cpuacct:/", "1:cpu:/", "0::/");

  @Test
  void hybridUsesV1ControllersBelowTheCallersCgroup() {
    CgroupManager m = CgroupManager.detect(HYBRID_MOUNTS, HYBRID_SELF, "cocoon");
    assertEquals(CgroupManager.Layout.HYBRID, m.layout());
    assertEquals(Path.of("/sys/fs/cgroup/memory/process_api/abc/cocoon"), m.bases().get("memory"));
    assertEquals(Path.of("/sys/fs/cgroup/pids/cocoon"), m.bases().get("pids"));
    assertEquals(Path.of("/sys/fs/cgroup/cpu/cocoon"), m.bases().get("cpu"));
    assertEquals(Path.of("/sys/fs/cgroup/cpuacct/cocoon"), m.bases().get("cpuacct"));
  }

  @Test
  void comountedCpuAndCpuacct() {
    CgroupManager m = CgroupManager.detect(List.of(
        "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
        "33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory"),
        List.of("3:cpu,cpuacct:/x", "4:memory:/x"), "c");
    assertEquals(CgroupManager.Layout.LEGACY, m.layout());
    assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct/x/c"), m.bases().get("cpuacct"));
  }

  @Test
  void unifiedUsesATopLevelParent() {
    CgroupManager m = CgroupManager.detect(
        List.of("30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"),
        List.of("0::/user.slice/session-1.scope"), "cocoon");
    assertEquals(CgroupManager.Layout.UNIFIED, m.layout());
    assertEquals(Path.of("/sys/fs/cgroup/cocoon"), m.bases().get("unified"));
  }

  @Test
  void noCgroupsAtAll() {
    assertThrows(CgroupException.class, () -> CgroupManager.detect(List.of(), List.of(), "cocoon"));
    assertThrows(CgroupException.class, () -> CgroupManager.detect(HYBRID_MOUNTS, HYBRID_SELF, "../x"));
  }
}

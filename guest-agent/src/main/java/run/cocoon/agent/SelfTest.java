package run.cocoon.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import run.cocoon.agent.guest.AgentConsole;
import run.cocoon.agent.guest.GuestMounts;
import run.cocoon.agent.guest.Pid1;

/**
 * {@code cocoon.agent.selftest=poweroff}: after the ready marker, one console line that shows what
 * PID 1 set up, for boot tests that have no vsock device: which standard mounts are there, the
 * cgroup controllers for children, loopback flags, host name, clock, and the reaper at work (a
 * shell that exits 7 leaving an orphan: the exit status must reach its owner, the orphan must be
 * reaped by PID 1).
 */
final class SelfTest {
  private static final long ORPHAN_WAIT_MILLIS = 3_000;

  private SelfTest() {}

  static void report(Pid1 pid1) throws IOException, InterruptedException {
    var mounted = GuestMounts.currentMountPoints();
    String mounts = GuestMounts.STANDARD.stream().map(GuestMounts.Mount::target)
        .filter(mounted::contains).collect(Collectors.joining(","));
    String controllers = Files.readString(Path.of("/sys/fs/cgroup/cgroup.subtree_control")).strip();
    String lo = Files.readString(Path.of("/sys/class/net/lo/flags")).strip();
    String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();

    long before = pid1.reaper().reapedCount();
    Process shell = pid1.children().start(new ProcessBuilder(
        "/bin/busybox", "sh", "-c", "/bin/busybox sleep 0.2 & exit 7"));
    int exit = shell.waitFor();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ORPHAN_WAIT_MILLIS);
    while (pid1.reaper().reapedCount() == before && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    AgentConsole.log("selftest mounts=" + mounts + " controllers=" + controllers.replace(' ', ',')
        + " lo-flags=" + lo + " hostname=" + hostname + " clock=" + Instant.now()
        + " owned-exit=" + exit + " orphans-reaped=" + (pid1.reaper().reapedCount() - before));
  }
}

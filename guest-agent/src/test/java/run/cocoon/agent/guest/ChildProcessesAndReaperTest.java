package run.cocoon.agent.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reaper in this JVM made a child subreaper (orphans of its descendants come to it, as they
 * come to PID 1 in the guest): orphans are reaped, recorded children keep their exit statuses.
 */
@Timeout(120)
class ChildProcessesAndReaperTest {
  private final ChildProcesses children = new ChildProcesses();
  private OrphanReaper reaper;

  @BeforeEach
  void becomeSubreaper() {
    GuestLibc.prctl(GuestLibc.PR_SET_CHILD_SUBREAPER, 1);
    reaper = OrphanReaper.start(children);
  }

  @AfterEach
  void stop() throws InterruptedException {
    reaper.close();
    GuestLibc.prctl(GuestLibc.PR_SET_CHILD_SUBREAPER, 0);
  }

  private void awaitReaped(long count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (reaper.reapedCount() < count && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }

  @Test
  void anOrphanIsReapedAndItsParentsStatusReachesItsOwner() throws Exception {
    Process shell = children.start(new ProcessBuilder("sh", "-c", "sleep 0.3 & exit 7"));
    assertEquals(7, shell.waitFor());
    awaitReaped(1);
    assertEquals(1, reaper.reapedCount());
    Thread.sleep(50);
    assertEquals(List.of(), reaper.zombieChildren());
  }

  @Test
  void recordedChildrenKeepTheirExitStatusesWhileOrphansAreReaped() throws Exception {
    // Many short-lived recorded children exit while the reaper peeks at zombies: none may lose
    // its status to the reaper. Each also leaves an orphan that the reaper must take.
    List<Process> started = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      started.add(children.start(new ProcessBuilder("sh", "-c", "sleep 0.05 & exit " + (i % 100))));
    }
    for (int i = 0; i < started.size(); i++) {
      assertEquals(i % 100, started.get(i).waitFor(), "status of child " + i);
    }
    awaitReaped(started.size());
    assertEquals(started.size(), reaper.reapedCount());
  }

  @Test
  void aRecordedZombieDoesNotHideTheOrphansBehindIt() throws Exception {
    // X: an orphan recorded as owned (as if a native spawner had started it and reaps it late);
    // it exits first and sits as a zombie at the head of waitid's answers. Y exits later and is
    // not recorded: the reaper must find it behind X, and must leave X alone.
    Process a = children.start(new ProcessBuilder("sh", "-c", "sleep 2 >/dev/null & echo $!"));
    int x = Integer.parseInt(a.inputReader().readLine().strip());
    children.start(() -> x, pid -> pid);
    assertEquals(0, a.waitFor());
    Process b = children.start(new ProcessBuilder("sh", "-c", "sleep 3 & exit 0"));
    assertEquals(0, b.waitFor());
    awaitReaped(1);
    assertEquals(1, reaper.reapedCount());
    assertEquals(List.of(x), reaper.zombieChildren());
    GuestLibc.ChildState state = GuestLibc.waitid(GuestLibc.P_PID, x, GuestLibc.WEXITED);
    assertEquals(x, state.pid());
    assertEquals(GuestLibc.CLD_EXITED, state.code());
    assertEquals(0, state.status());
    children.release(x);
  }
}

package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A box whose L1 VM ends by itself under a command (here: its QEMU is killed, as an L1 kernel panic
 * or a QEMU crash would end it) is reported as such, with the box's own account, and leaves
 * nothing behind.
 */
@Tag("slow")
@Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class BoxDeathTest {

  @Test
  void aBoxThatDiesUnderACommandSaysSoAndLeavesNothing() throws Exception {
    NestedBox box = NestedBox.start(NestedBox.Options.defaults());
    try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
      Future<NestedBox.Result> job = threads.submit(
          () -> box.run(List.of("sh", "-c", "echo started; sleep 600"), Duration.ofMinutes(5)));
      // The job has started once its marker is in the spool.
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (!started(box) && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertTrue(started(box), "the job did not start");
      List<ProcessHandle> qemu = ProcessHandle.allProcesses()
          .filter(h -> h.info().commandLine().orElse("").contains("qemu-system")
              && h.info().commandLine().orElse("").contains(box.spool().toString()))
          .toList();
      assertEquals(1, qemu.size(), "the box's QEMU");
      qemu.getFirst().destroyForcibly();

      NestedBox.Result r = job.get();
      assertTrue(r.boxGone(), r::describe);
      assertEquals(NestedBox.Result.BOX_FAILURE_EXIT, r.exitCode(), r::describe);
      assertTrue(r.stderr().contains("L1 ended by itself (QEMU exit status 137)"), r::describe);
      assertTrue(BoxFlakes.boxGone(r.stderr()), r::describe);
    } finally {
      box.close();
    }
    assertFalse(box.isAlive());
    assertFalse(Files.exists(box.spool()), "the spool is left behind");
    List<String> left = ProcessHandle.allProcesses().map(h -> h.info().commandLine().orElse(""))
        .filter(c -> c.contains(box.spool().toString())).toList();
    assertEquals(List.of(), left, "processes of the dead box are still running");
  }

  private static boolean started(NestedBox box) {
    try (var jobs = Files.list(box.spool().resolve("jobs"))) {
      return jobs.anyMatch(d -> Files.exists(d.resolve("started")));
    } catch (java.io.IOException e) {
      return false;
    }
  }
}

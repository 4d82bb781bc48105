package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One box for the whole class; each test runs commands in it through the Java API. */
@Tag("slow")
@Timeout(value = 15, unit = java.util.concurrent.TimeUnit.MINUTES)
class NestedBoxTest {
  private static NestedBox box;
  private static Path rw;

  @BeforeAll
  static void boot() throws IOException {
    rw = Files.createTempDirectory("cocoon-box-rw-");
    box = NestedBox.start(NestedBox.Options.defaults().withRw(rw));
    System.err.println("[report] L1 boot to taking commands: " + box.bootTime().toMillis() + " ms");
  }

  @AfterAll
  static void shutdown() {
    if (box != null) {
      box.close();
      assertFalse(box.isAlive(), "the box's cocoon-box process is still running after close()");
      assertFalse(Files.exists(box.spool()), "the spool " + box.spool() + " is left behind");
      // QEMU names the spool on its command line (its 9p share): none may survive the box.
      List<String> left = ProcessHandle.allProcesses().map(h -> h.info().commandLine().orElse(""))
          .filter(c -> c.contains(box.spool().toString())).toList();
      assertEquals(List.of(), left, "processes of the closed box are still running");
    }
    NestedBox.deleteTree(rw);
  }

  private static final Duration T = Duration.ofMinutes(3);

  @Test
  void stdoutStderrAndExitStatusPropagate() {
    NestedBox.Result r = box.run(List.of("sh", "-c", "echo out; echo err >&2; exit 7"), T);
    assertEquals(7, r.exitCode(), r::describe);
    assertEquals("out\n", r.stdout(), r::describe);
    assertEquals("err\n", r.stderr(), r::describe);
    assertFalse(r.timedOut());
  }

  @Test
  void argumentsArriveVerbatim() {
    List<String> args = List.of("a b", "it's", "$HOME", "\"q\"", "back\\slash", "*", "", "semi;colon", "ünï");
    List<String> cmd = new java.util.ArrayList<>(List.of("printf", "[%s]\\n"));
    cmd.addAll(args);
    NestedBox.Result r = box.run(cmd, T).requireSuccess();
    StringBuilder want = new StringBuilder();
    args.forEach(a -> want.append('[').append(a).append("]\n"));
    assertEquals(want.toString(), r.stdout());
  }

  @Test
  void environmentAndWorkingDirectory() {
    NestedBox.Result r = box.run(List.of("sh", "-c", "pwd; echo \"$FOO|$COCOON_IN_BOX|$HOME\""), T,
        Map.of("FOO", "bar baz"), Path.of("/usr/share")).requireSuccess();
    assertEquals("/usr/share\nbar baz|1|/root\n", r.stdout());
  }

  @Test
  void unreachableWorkingDirectoryIsExplained() {
    NestedBox.Result r = box.run(List.of("true"), T, Map.of(), Path.of("/nonexistent/dir"));
    assertEquals(125, r.exitCode(), r::describe);
    assertTrue(r.stderr().contains("not visible inside the box"), r::describe);
  }

  @Test
  void missingCommandExits127() {
    NestedBox.Result r = box.run(List.of("no-such-command-here"), T);
    assertEquals(127, r.exitCode(), r::describe);
  }

  @Test
  void writableDirectoryReachesTheHost() throws IOException {
    box.run(List.of("sh", "-c", "echo from-l1 > " + rw.resolve("f.txt")), T).requireSuccess();
    assertEquals("from-l1\n", Files.readString(rw.resolve("f.txt")));
    // Everything else of the host is read-only in the box.
    NestedBox.Result r = box.run(List.of("sh", "-c", "touch /usr/cocoon-box-should-fail"), T);
    assertTrue(r.exitCode() != 0, r::describe);
    assertFalse(Files.exists(Path.of("/usr/cocoon-box-should-fail")));
  }

  @Test
  void devKvmWorksFromJava() {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classes = Path.of(KvmSmoke.class.getProtectionDomain().getCodeSource().getLocation().getPath()).toString();
    NestedBox.Result r = box.run(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
        "-XX:TieredStopAtLevel=1", "-cp", classes, KvmSmoke.class.getName()), T);
    System.err.println("[report] JVM start + KvmSmoke inside L1: " + r.elapsed().toMillis() + " ms");
    assertEquals(0, r.exitCode(), r::describe);
    assertTrue(r.stdout().startsWith("api=12 vm_fd="), r::describe);
  }

  @Test
  void hungCommandIsKilledAtTheTimeoutAndTheBoxSurvives() {
    NestedBox.Result r = box.run(List.of("sh", "-c", "echo before; sleep 600"), Duration.ofSeconds(3));
    assertTrue(r.timedOut(), r::describe);
    assertEquals(124, r.exitCode());
    assertEquals("before\n", r.stdout());
    assertTrue(r.stderr().contains("'sh -c echo before; sleep 600'") && r.stderr().contains("after 3s"), r::describe);
    assertTrue(r.elapsed().toSeconds() < 60, r::describe);
    // The whole process group went, not just sh.
    NestedBox.Result ps = box.run(List.of("sh", "-c", "ps -eo args | grep -c '^sleep 600' || true"), T);
    assertEquals("0\n", ps.stdout(), ps::describe);
    box.run(List.of("true"), T).requireSuccess();
  }

  @Test
  void commandsRunConcurrently() throws Exception {
    // Each job waits (bounded) for the other's marker: both succeed only if they overlap.
    String wait = "touch %s/%s; i=0; while [ ! -e %s/%s ]; do i=$((i+1)); [ $i -lt 600 ] || exit 9; sleep 0.2; done; echo %s";
    // Own threads: the common pool may have a single worker on a small machine.
    var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    var a = threads.submit(() -> box.run(List.of("sh", "-c", wait.formatted(rw, "a", rw, "b", "a")), T));
    var b = threads.submit(() -> box.run(List.of("sh", "-c", wait.formatted(rw, "b", rw, "a", "b")), T));
    assertEquals("a\n", a.get().requireSuccess().stdout());
    assertEquals("b\n", b.get().requireSuccess().stdout());
    threads.close();
  }

  @Test
  void allCpusOfL1AreOnline() {
    NestedBox.Result r = box.run(List.of("sh", "-c", "cat /sys/devices/system/cpu/online; nproc"), T).requireSuccess();
    assertEquals("0-1\n2\n", r.stdout());
  }
}

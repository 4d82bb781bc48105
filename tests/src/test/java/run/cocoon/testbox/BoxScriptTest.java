package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cocoon-box as a shell tool: argument checking (fast) and whole one-shot runs (slow). */
class BoxScriptTest {
  @TempDir Path tmp;

  record Run(int exit, String out, String err, long millis) {}

  /** Runs cocoon-box with TMPDIR in our own temp dir, so its spools can be counted exactly. */
  Run box(List<String> args, long waitSeconds) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(BoxScript.locate().toString());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().put("TMPDIR", tmp.toString());
    long t0 = System.nanoTime();
    Process p = pb.start();
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    String out = read(p.getInputStream());
    if (!p.waitFor(waitSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("cocoon-box did not end within " + waitSeconds + " s");
    }
    return new Run(p.exitValue(), out, err.join(), (System.nanoTime() - t0) / 1_000_000);
  }

  static String read(java.io.InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** No spool left in our TMPDIR and no QEMU serving one of them. */
  void assertNothingLeft() throws IOException {
    try (var s = Files.list(tmp)) {
      assertEquals(List.of(), s.toList(), "cocoon-box left files in TMPDIR");
    }
    long qemus = ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().orElse("").contains(tmp.toString())).count();
    assertEquals(0, qemus, "processes referring to " + tmp + " are still running");
  }

  @Test
  void helpAndBadInput() throws Exception {
    Run help = box(List.of("--help"), 30);
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("--timeout S"), help.out());
    for (List<String> bad : List.<List<String>>of(List.of("--cpus", "0", "--", "true"), List.of("--memory", "12", "--", "true"),
        List.of("--timeout", "-1", "--", "true"), List.of("--env", "1X=2", "--", "true"), List.of("--frob"),
        List.of("--timeout"), List.of(), List.of("--rw", "/nonexistent", "--", "true"), List.of("--serve", tmp.toString(), "--", "x"),
        List.of("--in", tmp.toString(), "--", "true"), List.of("--cwd", "relative", "--", "true"))) {
      Run r = box(bad, 30);
      assertEquals(1, r.exit(), bad + " -> " + r);
      assertTrue(r.err().startsWith("cocoon: ") && r.err().length() > 20, bad + " -> " + r.err());
    }
    assertNothingLeft();
  }

  @Test
  @org.junit.jupiter.api.Tag("slow")
  void oneShotPropagatesOutputAndStatus() throws Exception {
    Run r = box(List.of("--verbose", "--", "sh", "-c", "echo out; echo err >&2; cat /sys/devices/system/cpu/online; exit 7"), 600);
    System.err.println("[report] one-shot cocoon-box total wall time: " + r.millis() + " ms; its log:\n" + r.err());
    assertEquals(7, r.exit(), r.toString());
    assertEquals("out\n0-1\n", r.out());
    assertTrue(r.err().contains("err\n"), r.err());
    assertNothingLeft();
  }

  @Test
  @org.junit.jupiter.api.Tag("slow")
  void oneShotTimeoutKillsTheBox() throws Exception {
    Run r = box(List.of("--timeout", "5", "--", "sleep", "600"), 600);
    assertEquals(124, r.exit(), r.toString());
    assertTrue(r.err().contains("timeout: command 'sleep 600' still running after 5s"), r.err());
    assertNothingLeft();
  }

  @Test
  @org.junit.jupiter.api.Tag("slow")
  void interruptCleansUp() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(BoxScript.locate().toString(), "--", "sleep", "600")
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("TMPDIR", tmp.toString());
    Process p = pb.start();
    // Wait until QEMU is up (its spool exists and a child process runs), then Ctrl-C the tool.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (p.descendants().noneMatch(h -> h.info().command().orElse("").contains("qemu-system"))) {
      assertTrue(System.nanoTime() < deadline, "QEMU did not start");
      Thread.sleep(200);
    }
    Thread.sleep(2000);
    new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "cocoon-box ignored SIGINT");
    assertEquals(130, p.exitValue());
    assertNothingLeft();
  }
}

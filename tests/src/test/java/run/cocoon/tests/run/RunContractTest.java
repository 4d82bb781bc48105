package run.cocoon.tests.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import run.cocoon.shim.run.Isolation;
import run.cocoon.shim.run.IsolationUnavailableException;

/**
 * What a container sees and how it ends must not depend on the isolation: one suite of
 * behaviours of {@code cocoon run}, run once per isolation. An isolation this build cannot run
 * is skipped with the reason.
 */
@Tag("slow")
class RunContractTest {
  private static final Path ROOT = Path.of(System.getProperty("cocoon.root", ".")).toAbsolutePath();

  @TempDir static Path home;

  record Result(int code, String out) {}

  static void assumeAvailable(String isolation) {
    try {
      Isolation.named(isolation).checkAvailable();
    } catch (IsolationUnavailableException e) {
      System.out.println("skipping isolation " + isolation + ": " + e.getMessage());
      Assumptions.abort(e.getMessage());
    }
  }

  static ProcessBuilder cocoon(String isolation, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("cocoon").toString(), "run", "--rm",
        "--isolation=" + isolation));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("COCOON_HOME", home.toString());
    return pb;
  }

  static Result run(String isolation, String... args) throws Exception {
    assumeAvailable(isolation);
    Process p = cocoon(isolation, List.of(args)).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void echoAndExitStatus(String iso) throws Exception {
    Result r = run(iso, "busybox", "sh", "-c", "echo hi; exit 3");
    assertEquals(3, r.code(), r.out());
    assertEquals("hi", r.out().strip());
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void envCwdUserHostnamePid(String iso) throws Exception {
    Result r = run(iso, "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1001", "--hostname", "box",
        "busybox", "sh", "-c", "echo $FOO $(pwd) $(id -u) $(id -g) $(hostname) $$");
    assertEquals(0, r.code(), r.out());
    assertEquals("bar /tmp 1000 1001 box 1", r.out().strip());
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void volumesReadWriteAndReadOnly(String iso) throws Exception {
    Path shared = Files.createDirectories(home.resolve("vol-" + iso));
    Result rw = run(iso, "-v", shared + ":/data", "busybox", "sh", "-c", "echo x > /data/f");
    assertEquals(0, rw.code(), rw.out());
    assertEquals("x", Files.readString(shared.resolve("f")).strip());
    Result ro = run(iso, "-v", shared + ":/data:ro", "busybox", "sh", "-c",
        "cat /data/f; echo y > /data/g");
    assertNotEquals(0, ro.code(), ro.out());
    assertTrue(ro.out().startsWith("x"), ro.out());
    assertFalse(Files.exists(shared.resolve("g")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void sigtermIsForwarded(String iso) throws Exception {
    assumeAvailable(iso);
    Process p = cocoon(iso, List.of("busybox", "sh", "-c",
        "trap 'echo got; exit 7' TERM; echo ready; while true; do sleep 0.1; done")).start();
    BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null && !line.equals("ready"); ) {
      // build or image messages before the container's own output
    }
    p.toHandle().destroy(); // SIGTERM to cocoon (the launcher execs the JVM)
    assertEquals("got", in.readLine());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(7, p.exitValue());
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void ttyAndInteractiveStdin(String iso) throws Exception {
    assumeAvailable(iso);
    // script(1) gives cocoon a terminal of its own, as a user's shell would
    String line = ROOT.resolve("cocoon") + " run --rm -t --isolation=" + iso
        + " busybox sh -c 'test -t 0 && test -t 1 && echo on-a-tty'";
    ProcessBuilder pb = new ProcessBuilder("script", "-qc", line, "/dev/null").redirectErrorStream(true);
    pb.environment().put("COCOON_HOME", home.toString());
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertTrue(out.contains("on-a-tty"), out);

    Process i = cocoon(iso, List.of("-i", "busybox", "sh", "-c", "read x; echo got-$x")).start();
    i.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
    i.getOutputStream().close();
    String got = new String(i.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(i.waitFor(120, TimeUnit.SECONDS));
    assertEquals("got-ping", got.strip());
  }

  @ParameterizedTest
  @ValueSource(strings = {"container", "vm"})
  void memoryLimitEndsInOomKill(String iso) throws Exception {
    Result r = run(iso, "--memory", "32m", "busybox", "sh", "-c",
        "a=aaaaaaaaaaaaaaaa; while true; do a=$a$a; done");
    assertEquals(137, r.code(), r.out());
    assertTrue(r.out().contains("OOM"), r.out());
  }
}

package run.cocoon.tests.podman;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * podman as a real client of cocoon-runtime: conmon drives create/start/state/kill/delete and
 * expects runc's behaviour (stdio inherited as fds 0-2, the container re-parented to conmon,
 * state JSON, error words). Podman's storage, runroot and the runtime's state root are under the
 * test's directory, so nothing is left behind.
 */
@Tag("slow")
class PodmanTest {
  private static final Path ROOT = Path.of(System.getProperty("cocoon.root", ".")).toAbsolutePath();
  private static final String IMAGE = "localhost/cocoon-test-busybox:1";
  /**
   * Podman asks for RLIMIT_NOFILE 1048576; raising a hard limit needs CAP_SYS_RESOURCE, which
   * some hosts (this build machine) do not grant even to root; crun and runc fail the same way.
   */
  private static final List<String> LIMITS = List.of("--network=none",
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024");

  @TempDir static Path dir;

  @BeforeAll
  static void setUp() throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/podman"))) {
      run(List.of(ROOT.resolve("scripts/setup-host").toString()), 600);
    }
    Path rootfs = dir.resolve("rootfs");
    Files.createDirectories(rootfs.resolve("bin"));
    Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
    for (String a : List.of("sh", "echo", "sleep", "cat", "true")) {
      Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
    }
    Path tar = dir.resolve("busybox.tar");
    run(List.of("tar", "-C", rootfs.toString(), "-cf", tar.toString(), "."), 60);
    assertEquals(0, podman(List.of("import", tar.toString(), IMAGE)).code);
  }

  @AfterAll
  static void tearDown() throws Exception {
    podman(List.of("rm", "-a", "-f"));
    podman(List.of("rmi", "-a", "-f"));
    // podman's overlay storage mounts stay until unmounted
    run(List.of("sh", "-c", "grep -o ' " + dir + "[^ ]*' /proc/self/mountinfo | sort -r"
        + " | xargs -r -n1 umount -l"), 60);
  }

  @Test
  void runEchoesAndRemoves() throws Exception {
    List<String> args = new ArrayList<>(List.of("run", "--rm"));
    args.addAll(LIMITS);
    args.addAll(List.of(IMAGE, "echo", "hi"));
    Result r = podman(args);
    assertEquals(0, r.code, r.out);
    assertEquals("hi", r.out.strip());
    assertEquals("", podman(List.of("ps", "-aq")).out.strip());
    assertEquals(List.of(), runtimeStates());
  }

  @Test
  void detachedListKillRemove() throws Exception {
    List<String> args = new ArrayList<>(List.of("run", "-d", "--name", "sleeper"));
    args.addAll(LIMITS);
    args.addAll(List.of(IMAGE, "sleep", "1000"));
    Result r = podman(args);
    assertEquals(0, r.code, r.out);
    Result ps = podman(List.of("ps", "--format", "{{.Names}} {{.Status}}"));
    assertTrue(ps.out.contains("sleeper Up"), ps.out);
    assertEquals(0, podman(List.of("kill", "sleeper")).code);
    Result exited = podman(List.of("ps", "-a", "--format", "{{.Names}} {{.Status}}"));
    assertTrue(exited.out.contains("sleeper Exited (137)"), exited.out);
    assertEquals(0, podman(List.of("rm", "sleeper")).code);
    assertEquals("", podman(List.of("ps", "-aq")).out.strip());
    assertEquals(List.of(), runtimeStates());
  }

  @Test
  void terminalFromTheContainersOwnDevpts() throws Exception {
    // -t: conmon passes --console-socket; script(1) gives podman a terminal to attach to
    List<String> args = new ArrayList<>(command());
    args.addAll(List.of("run", "--rm", "-t"));
    args.addAll(LIMITS);
    // the sleep: podman -t may attach after a command this short has already ended (runtime.md)
    args.addAll(List.of(IMAGE, "sh", "-c", "'tty; sleep 1'"));
    Result r = run(List.of("script", "-qc", String.join(" ", args), "/dev/null"), 300);
    assertEquals(0, r.code, r.out);
    assertEquals("/dev/pts/0", r.out.strip());
  }

  private static List<String> runtimeStates() throws IOException {
    Path root = dir.resolve("runtime-root");
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (var s = Files.list(root)) {
      return s.map(p -> p.getFileName().toString()).toList();
    }
  }

  record Result(int code, String out) {}

  private static Result podman(List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(command());
    cmd.addAll(args);
    return run(cmd, 300);
  }

  private static List<String> command() throws IOException {
    writeRuntimeWrapper();
    return List.of("podman",
        "--root", dir.resolve("storage").toString(),
        "--runroot", dir.resolve("runroot").toString(),
        "--cgroup-manager=cgroupfs", "--events-backend=none",
        "--runtime", dir.resolve("runtime").toString());
  }

  /** cocoon-runtime with its state root under the test directory. */
  private static void writeRuntimeWrapper() throws IOException {
    Path w = dir.resolve("runtime");
    if (Files.exists(w)) {
      return;
    }
    Files.writeString(w, "#!/bin/sh\nexec " + ROOT.resolve("cocoon-runtime") + " --root "
        + dir.resolve("runtime-root") + " \"$@\"\n");
    w.toFile().setExecutable(true);
  }

  private static Result run(List<String> cmd, int timeoutSeconds) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}

package run.cocoon.shim.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import run.cocoon.container.CgroupManager;
import run.cocoon.container.ContainerId;
import run.cocoon.container.HostProcesses;
import run.cocoon.shim.lifecycle.ContainerState;
import run.cocoon.shim.lifecycle.StateFiles;

/**
 * cocoon-runtime's commands run in this JVM (as root, on the host's cgroups): lifecycle, hostile
 * ids and bundles refused before any side effect, and 200 create/delete cycles that must leave
 * the host as they found it.
 */
class RuntimeCliTest {
  static final String PREFIX = "rtcli-";
  @TempDir static Path dir;
  static Path bundle;

  @BeforeAll
  static void setUp() throws IOException {
    // Containers whose relay left are re-parented here, and reaped by the tests.
    HostProcesses.becomeSubreaper();
    bundle = bundle(dir.resolve("bundle"), List.of("sleep", "1000"));
  }

  static Path bundle(Path b, List<String> args) throws IOException {
    Path root = b.resolve("rootfs");
    Files.createDirectories(root.resolve("bin"));
    for (String d : List.of("proc", "dev", "sys", "tmp")) {
      Files.createDirectories(root.resolve(d));
    }
    Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
    for (String a : List.of("sh", "sleep", "echo", "true")) {
      Files.createSymbolicLink(root.resolve("bin").resolve(a), Path.of("busybox"));
    }
    Map<String, Object> spec = Map.of(
        "ociVersion", "1.0.2",
        "process", Map.of("args", args, "env", List.of("PATH=/bin"), "cwd", "/"),
        "root", Map.of("path", "rootfs"),
        "hostname", "t",
        "mounts", List.of(Map.of("destination", "/proc", "type", "proc", "source", "proc")),
        "linux", Map.of("namespaces", List.of(Map.of("type", "pid"), Map.of("type", "mount"),
            Map.of("type", "uts"), Map.of("type", "ipc"), Map.of("type", "network"))));
    Files.write(b.resolve("config.json"), StateFiles.JSON.writeValueAsBytes(spec));
    return b;
  }

  record Result(int code, String out, String err) {}

  static Result cli(String... args) {
    List<String> all = new ArrayList<>(List.of("--root", dir.resolve("state").toString()));
    all.addAll(List.of(args));
    CommandLine cl = RuntimeMain.commandLine();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    java.io.PrintStream savedOut = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      int code = cl.execute(all.toArray(String[]::new));
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(savedOut);
    }
  }

  static String status(String id) throws IOException {
    Result r = cli("state", id);
    assertEquals(0, r.code(), r.err());
    return StateFiles.JSON.readTree(r.out()).get("status").asText();
  }

  static int pid(String id) throws IOException {
    return StateFiles.JSON.readTree(cli("state", id).out()).get("pid").asInt();
  }

  @Test
  void lifecycle() throws IOException {
    Path pidFile = dir.resolve("lifecycle.pid");
    Result c = cli("create", "--bundle", bundle.toString(), "--pid-file", pidFile.toString(), "rtcli-life");
    assertEquals(0, c.code(), c.err());
    int pid = Integer.parseInt(Files.readString(pidFile).trim());
    assertEquals(pid, pid("rtcli-life"));
    assertEquals("created", status("rtcli-life"));
    assertEquals(0, cli("start", "rtcli-life").code());
    assertEquals("running", status("rtcli-life"));
    assertTrue(cli("start", "rtcli-life").err().contains("already running"));
    assertEquals(1, cli("delete", "rtcli-life").code(), "a running container needs --force");
    assertEquals(0, cli("kill", "rtcli-life", "KILL").code());
    HostProcesses.awaitExit(pid, HostProcesses.startTime(pid).orElse(0), java.time.Duration.ofSeconds(10));
    assertEquals("stopped", status("rtcli-life"));
    assertEquals(0, cli("delete", "rtcli-life").code());
    HostProcesses.reap(pid);
    Result gone = cli("state", "rtcli-life");
    assertEquals(1, gone.code());
    assertTrue(gone.err().contains("container does not exist"), gone.err());
    assertEquals(0, cli("delete", "--force", "rtcli-life").code(), "--force on an unknown id succeeds");
  }

  @Test
  void hostileIdsAndBundlesAreRefusedBeforeAnySideEffect() throws IOException {
    Snapshot before = Snapshot.take(dir.resolve("state"));
    for (String id : List.of("../escape", "a/b", ".hidden", "x".repeat(200), "a b", "")) {
      Result r = cli("create", "--bundle", bundle.toString(), id);
      assertEquals(1, r.code(), id);
      assertTrue(r.err().contains("invalid container id"), r.err());
    }
    assertEquals(1, cli("create", "--bundle", bundle.toString(), "-x").code(), "an option, not an id");
    Path bad = dir.resolve("rtcli-bad");
    Files.createDirectories(bad);
    for (String config : List.of("{", "[]", "{\"root\":{\"path\":\"../..\"},\"process\":{\"args\":[\"true\"]}}",
        "{\"root\":{\"path\":\"/\"},\"process\":{\"args\":[\"true\"]}}",
        "{\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"true\"],\"env\":[\"=x\"]},"
            + "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}")) {
      Files.writeString(bad.resolve("config.json"), config);
      Result r = cli("create", "--bundle", bad.toString(), "rtcli-bad");
      assertEquals(1, r.code(), config);
    }
    assertEquals(1, cli("kill", "nope", "NOSUCHSIGNAL").code());
    assertEquals(before, Snapshot.take(dir.resolve("state")));
  }

  @Test
  void corruptStateIsAnErrorNotAGuess() throws IOException {
    Path d = dir.resolve("state").resolve("rtcli-corrupt");
    Files.createDirectories(d);
    for (String junk : List.of("", "{", "[1,2]", "{\"id\":\"someone-else\"}",
        "{\"id\":\"rtcli-corrupt\",\"pid\":1,\"startTime\":1,"
            + "\"cgroup\":{\"memory\":\"/etc\"}}")) {
      Files.writeString(d.resolve("state.json"), junk);
      Result r = cli("state", "rtcli-corrupt");
      Result k = cli("kill", "rtcli-corrupt", "KILL");
      assertEquals(1, k.code(), junk);
      if (junk.contains("/etc")) {
        // pid 1 with a start time that is not init's: "stopped", and the cgroup path is refused
        Result del = cli("delete", "--force", "rtcli-corrupt");
        assertEquals(1, del.code());
        assertTrue(del.err().contains("not below /sys/fs/cgroup"), del.err());
        assertTrue(Files.isDirectory(Path.of("/etc")));
      } else {
        assertEquals(1, r.code(), junk);
      }
    }
    Files.delete(d.resolve("state.json"));
    Files.delete(d);
  }

  @Test
  void killedCreateIsCleanedByForceDelete() throws Exception {
    Snapshot before = Snapshot.take(dir.resolve("state"));
    // A create that dies after recording its state and creating the cgroup, before its process.
    Path d = dir.resolve("state").resolve("rtcli-half");
    Files.createDirectories(d);
    CgroupManager cm = CgroupManager.detect();
    java.util.Map<String, String> cg = new java.util.LinkedHashMap<>();
    cm.bases().forEach((k, v) -> cg.put(k, v.resolve("rtcli-half").toString()));
    StateFiles.write(d.resolve("state.json"), ContainerState.creating(new ContainerId("rtcli-half"),
        "container", bundle, Path.of(""), null, List.of(), "now", cg, Map.of()));
    for (String p : cg.values()) {
      Files.createDirectories(Path.of(p));
    }
    assertEquals("creating", status("rtcli-half"));
    assertEquals(1, cli("delete", "rtcli-half").code(), "needs --force");
    assertEquals(0, cli("delete", "--force", "rtcli-half").code());
    assertEquals(before, Snapshot.take(dir.resolve("state")));
  }

  @Test
  void createKilledMidwayIsCleanedByForceDelete() throws Exception {
    Snapshot before = Snapshot.take(dir.resolve("state"));
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
    String helper = System.getProperty("cocoon.spawn.helper");
    if (helper != null) {
      cmd.add("-Dcocoon.spawn.helper=" + helper);
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), RuntimeMain.class.getName(),
        "--root", dir.resolve("state").toString(), "create", "--bundle", bundle.toString(),
        "rtcli-killed"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    Path state = dir.resolve("state").resolve("rtcli-killed").resolve("state.json");
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!Files.exists(state) && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    p.destroyForcibly().waitFor(); // SIGKILL somewhere between recording state and returning
    Result d = cli("delete", "--force", "rtcli-killed");
    assertEquals(0, d.code(), d.err());
    reapZombieChildren();
    assertEquals(before, Snapshot.take(dir.resolve("state")));
  }

  /** Containers and relays orphaned by a killed JVM were re-parented to this subreaper. */
  static void reapZombieChildren() throws IOException, InterruptedException {
    String self = Long.toString(ProcessHandle.current().pid());
    for (int round = 0; round < 100; round++) {
      boolean any = false;
      try (Stream<Path> s = Files.list(Path.of("/proc"))) {
        for (Path p : s.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
          try {
            String stat = Files.readString(p.resolve("stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (f[1].equals(self) && f[0].equals("Z")) {
              HostProcesses.reap(Integer.parseInt(p.getFileName().toString()));
            } else if (f[1].equals(self)) {
              any = true;
            }
          } catch (IOException gone) {
            // exited meanwhile
          }
        }
      }
      if (!any) {
        return;
      }
      Thread.sleep(20);
    }
  }

  @Test
  void twoHundredCreateDeleteCyclesLeaveNothingBehind() throws Exception {
    Snapshot before = Snapshot.take(dir.resolve("state"));
    for (int i = 0; i < 200; i++) {
      String id = "rtcli-cycle" + i;
      Result c = cli("create", "--bundle", bundle.toString(), id);
      assertEquals(0, c.code(), c.err());
      int pid = pid(id);
      if (i % 2 == 0) {
        assertEquals(0, cli("start", id).code());
      }
      Result d = cli("delete", "--force", id);
      assertEquals(0, d.code(), d.err());
      HostProcesses.reap(pid);
    }
    assertEquals(before, Snapshot.take(dir.resolve("state")));
  }

  /**
   * What a container could leave behind on the host. Other programs share this host (and its
   * cgroup parents), so only what carries this test's name prefix or is this JVM's child counts.
   */
  record Snapshot(long mounts, long cgroupDirs, long children, long taps, long stateFiles) {
    static Snapshot take(Path stateRoot) throws IOException {
      long mounts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
          .filter(l -> l.contains(PREFIX) || l.contains(dir.toString())).count();
      long cgroups = 0;
      for (Path base : CgroupManager.detect().bases().values()) {
        if (Files.isDirectory(base)) {
          try (Stream<Path> s = Files.list(base)) {
            cgroups += s.filter(p -> p.getFileName().toString().startsWith(PREFIX)).count();
          }
        }
      }
      String self = Long.toString(ProcessHandle.current().pid());
      long children = 0;
      try (Stream<Path> s = Files.list(Path.of("/proc"))) {
        for (Path p : s.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
          try {
            String stat = Files.readString(p.resolve("stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (f[1].equals(self)) {
              children++;
            }
          } catch (IOException gone) {
            // exited meanwhile
          }
        }
      }
      long taps;
      try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
        taps = s.filter(p -> Files.exists(p.resolve("tun_flags"))
            && p.getFileName().toString().startsWith("cocoon")).count();
      }
      long files = 0;
      if (Files.isDirectory(stateRoot)) {
        try (Stream<Path> s = Files.walk(stateRoot)) {
          files = s.count() - 1;
        }
      }
      return new Snapshot(mounts, cgroups, children, taps, files);
    }
  }
}

package run.cocoon.tests.vm;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostProcesses;
import run.cocoon.shim.lifecycle.StateFiles;

/**
 * The host side of the cocoon-runtime VM-isolation test, run where VMs run: drives the runtime
 * CLI as separate processes, as conmon does (this process is their subreaper, so the VM keeper
 * named by {@code --pid-file} becomes its child and its exit status can be read), and prints one
 * {@code RUNTIME-VM key=value} line per check. Usage: {@code WORKDIR}; the JVM's {@code cocoon.*}
 * properties (kernel, guest image) are passed on to the runtime.
 */
public final class RuntimeVmScenario {
  static final String MARK = "RUNTIME-VM";
  private static Path work;

  private RuntimeVmScenario() {}

  public static void main(String[] args) throws Exception {
    work = Files.createDirectories(Path.of(args[0]));
    HostProcesses.becomeSubreaper();
    Path root = work.resolve("root");

    // 1. Annotation picks the VM; output and exit status through the keeper; state transitions.
    Path b1 = bundle("b1", List.of("sh", "-c", "echo hi-from-vm; echo err-from-vm >&2; exit 3"),
        true, List.of());
    Path pidFile = work.resolve("c1.pid");
    Run c = rt(List.of("create", "--bundle", b1.toString(), "--pid-file", pidFile.toString(), "c1"),
        "c1");
    print("c1-create", c.code + (c.code == 0 ? "" : ":" + c.err.strip().replace('\n', '|')));
    if (c.code != 0) {
      return;
    }
    int pid = Integer.parseInt(Files.readString(pidFile).strip());
    print("c1-pid-matches", pid == statePid("c1"));
    print("c1-created", status("c1"));
    print("c1-start", rt(List.of("start", "c1"), null).code);
    print("c1-exit", code(HostProcesses.waitForChild(pid)));
    print("c1-out", Files.readString(work.resolve("c1.out")).strip());
    print("c1-err", Files.readString(work.resolve("c1.err")).strip());
    print("c1-stopped", status("c1"));
    print("c1-delete", rt(List.of("delete", "c1"), null).code);
    print("c1-gone", !Files.exists(root.resolve("c1")));

    // 2. The global flag picks the VM; SIGTERM reaches the container through the agent.
    Path b2 = bundle("b2", List.of("sh", "-c",
        "trap 'echo got-term; exit 143' TERM; echo up; while true; do sleep 1; done"), false, List.of());
    Path pid2File = work.resolve("c2.pid");
    print("c2-create", rt(List.of("--isolation", "vm", "create", "--bundle", b2.toString(),
        "--pid-file", pid2File.toString(), "c2"), "c2").code);
    int pid2 = Integer.parseInt(Files.readString(pid2File).strip());
    rt(List.of("start", "c2"), null);
    print("c2-running", status("c2"));
    print("c2-kill", rt(List.of("kill", "c2", "TERM"), null).code);
    print("c2-exit", code(HostProcesses.waitForChild(pid2)));
    print("c2-out", Files.readString(work.resolve("c2.out")).strip().replace('\n', '|'));
    print("c2-delete", rt(List.of("delete", "c2"), null).code);

    // 3. The keeper killed with SIGKILL (the VM with it): delete --force leaves nothing.
    Path b3 = bundle("b3", List.of("sleep", "1000"), true, List.of());
    Path pid3File = work.resolve("c3.pid");
    print("c3-create", rt(List.of("create", "--bundle", b3.toString(), "--pid-file",
        pid3File.toString(), "c3"), "c3").code);
    int pid3 = Integer.parseInt(Files.readString(pid3File).strip());
    rt(List.of("start", "c3"), null);
    ProcessHandle.of(pid3).ifPresent(ProcessHandle::destroyForcibly);
    print("c3-exit", code(HostProcesses.waitForChild(pid3)));
    print("c3-delete", rt(List.of("delete", "--force", "c3"), null).code);
    print("c3-gone", !Files.exists(root.resolve("c3")));

    // 4. Refused before any side effect: a directory bind (a volume), a terminal, a bad id.
    Path b4 = bundle("b4", List.of("true"), true,
        List.of(Map.of("destination", "/mnt", "type", "bind", "source", "/etc",
            "options", List.of("rbind"))));
    Run bad = rt(List.of("create", "--bundle", b4.toString(), "c4"), "c4");
    print("c4-code", bad.code);
    print("c4-says-volume", bad.err.contains("volumes need container isolation"));
    print("c4-nothing", !Files.exists(root.resolve("c4")));
    Run badId = rt(List.of("create", "--bundle", b1.toString(), "../escape"), "c5");
    print("c5-code", badId.code);

    // Nothing of ours is left: no state, no socket, no disk, no keeper.
    try (Stream<Path> s = Files.exists(root) ? Files.list(root) : Stream.empty()) {
      print("left", s.count());
    }
    print("keepers-alive", Stream.of(pid, pid2, pid3).filter(p -> ProcessHandle.of(p)
        .map(ProcessHandle::isAlive).orElse(false)).count());
    print("done", "yes");
  }

  private static int code(ExitStatus s) {
    return switch (s) {
      case ExitStatus.Exited e -> e.code();
      case ExitStatus.Signaled sg -> 128 + sg.signal();
    };
  }

  private static void print(String key, Object value) {
    System.out.println(MARK + " " + key + "=" + value);
    System.out.flush();
  }

  record Run(int code, String out, String err) {}

  /**
   * One runtime call in its own JVM. With {@code stdioName}, its stdout and stderr go to files of
   * that name (the VM keeper inherits them, as from conmon) and its stdin is /dev/null.
   */
  static Run rt(List<String> args, String stdioName) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("cocoon.")) {
        cmd.add("-D" + name + "=" + System.getProperty(name));
      }
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "run.cocoon.shim.runtime.RuntimeMain", "--root", work.resolve("root").toString()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(new File("/dev/null"));
    Path out = work.resolve((stdioName == null ? "call" : stdioName) + ".out");
    Path err = work.resolve((stdioName == null ? "call" : stdioName) + ".err");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + args);
    }
    Run r = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    if (r.code != 0) {
      System.out.println("call " + args + " exited " + r.code + ": " + r.err.strip());
    }
    return r;
  }

  private static String status(String id) throws IOException, InterruptedException {
    Run r = rt(List.of("state", id), null);
    return r.code != 0 ? "error:" + r.err.strip() : StateFiles.JSON.readTree(r.out).get("status").asText();
  }

  private static int statePid(String id) throws IOException, InterruptedException {
    return StateFiles.JSON.readTree(rt(List.of("state", id), null).out).get("pid").asInt();
  }

  /** A busybox bundle; {@code vmAnnotation} asks for VM isolation in config.json. */
  static Path bundle(String name, List<String> args, boolean vmAnnotation,
      List<Map<String, Object>> extraMounts) throws IOException {
    Path b = work.resolve(name);
    Path rootfs = b.resolve("rootfs");
    Files.createDirectories(rootfs.resolve("bin"));
    for (String d : List.of("proc", "dev", "sys", "tmp")) {
      Files.createDirectories(rootfs.resolve(d));
    }
    Files.copy(TestInitramfs.BUSYBOX, rootfs.resolve("bin/busybox"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    for (String a : List.of("sh", "sleep", "echo", "true", "cat")) {
      Path link = rootfs.resolve("bin").resolve(a);
      if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(link, Path.of("busybox"));
      }
    }
    List<Object> mounts = new ArrayList<>(List.of(
        Map.of("destination", "/proc", "type", "proc", "source", "proc")));
    mounts.addAll(extraMounts);
    Map<String, Object> spec = new java.util.LinkedHashMap<>(Map.of(
        "ociVersion", "1.0.2",
        "process", Map.of("args", args, "env", List.of("PATH=/bin"), "cwd", "/"),
        "root", Map.of("path", "rootfs"),
        "hostname", "vm",
        "mounts", mounts,
        "linux", Map.of("namespaces", List.of(Map.of("type", "pid"), Map.of("type", "mount"),
            Map.of("type", "uts"), Map.of("type", "ipc")))));
    if (vmAnnotation) {
      spec.put("annotations", Map.of("run.cocoon.isolation", "vm"));
    }
    Files.write(b.resolve("config.json"), StateFiles.JSON.writeValueAsBytes(spec));
    return b;
  }
}

package run.cocoon.tests.vm;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.shim.vm.VmContainer;

/**
 * The host side of the VM-mode end-to-end test, run where VMs run (in the nested box): builds a
 * busybox rootfs disk, boots a VM with the agent, and drives containers through it, printing one
 * {@code AGENT-E2E key=value} line per check for the test to assert on. Usage: {@code WORKDIR}.
 */
public final class AgentScenario {
  static final String MARK = "AGENT-E2E";

  private AgentScenario() {}

  public static void main(String[] args) throws Exception {
    Path work = Files.createDirectories(Path.of(args[0]));
    Path disk = busyboxDisk(work);
    ObjectNode first = spec("sh", "-c", "echo hi; exit 3");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    VmContainer.Spec spec = new VmContainer.Spec("c1", first, disk, 1, 512L << 20, false, false,
        List.of(), work.resolve("state"));
    try (VmContainer vm = VmContainer.boot(spec)) {
      vm.start(null, out, err);
      Reply.Exited exited = vm.waitFor();
      print("c1-out", out.toString(StandardCharsets.UTF_8).strip());
      print("c1-exit", exited.exitCode());
      print("timing", vm.timing().toString().replace(' ', '_'));
      more(vm.agent());
    }
    print("done", "yes");
  }

  /** A second container in the same VM: exec, SIGTERM, OOM, and refusals. */
  private static void more(AgentClient agent) throws IOException, AgentException {
    Request.Rootfs rootfs = new Request.Rootfs("/dev/vda", true, true);
    agent.create("c2", spec("sh", "-c",
        "trap 'echo got-term; exit 143' TERM; while true; do sleep 1; done"), rootfs, null);
    Connection c2out = agent.attach("c2", null, Request.Stream.STDOUT);
    agent.start("c2");
    ObjectNode process = spec("sh", "-c", "echo exec-ok; exit 5").withObject("/process");
    agent.exec("c2", "e1", process, null);
    Connection e1out = agent.attach("c2", "e1", Request.Stream.STDOUT);
    print("exec-exit", agent.waitFor("c2", "e1").exitCode());
    print("exec-out", new String(e1out.input().readAllBytes(), StandardCharsets.UTF_8).strip());
    agent.signal("c2", null, 15, false);
    print("c2-exit", agent.waitFor("c2", null).exitCode());
    print("c2-out", new String(c2out.input().readAllBytes(), StandardCharsets.UTF_8).strip());
    agent.delete("c2", false);

    ObjectNode hungry = spec("sh", "-c", "a=x; while true; do a=$a$a; done");
    hungry.withObject("/linux").putObject("resources").putObject("memory").put("limit", 24L << 20);
    agent.create("c3", hungry, rootfs, null);
    agent.start("c3");
    print("oom", agent.waitFor("c3", null).oomKilled());
    agent.delete("c3", false);

    ObjectNode escape = spec("true");
    escape.withArray("mounts").addObject().put("destination", "/../../etc").put("type", "tmpfs")
        .put("source", "tmpfs");
    try {
      agent.create("bad", escape, rootfs, null);
      print("hostile", "accepted");
    } catch (AgentException e) {
      print("hostile", e.code());
    }
    print("left", agent.list().size());
  }

  private static void print(String key, Object value) {
    System.out.println(MARK + " " + key + "=" + value);
    System.out.flush();
  }

  static ObjectNode spec(String... args) {
    ObjectNode spec = Codec.json().createObjectNode();
    spec.put("ociVersion", "1.0.2");
    ObjectNode process = spec.putObject("process");
    ArrayNode a = process.putArray("args");
    for (String s : args) {
      a.add(s);
    }
    process.putArray("env").add("PATH=/bin");
    process.put("cwd", "/");
    spec.put("hostname", "vm-container");
    ArrayNode mounts = spec.putArray("mounts");
    mounts.addObject().put("destination", "/proc").put("type", "proc").put("source", "proc");
    mounts.addObject().put("destination", "/tmp").put("type", "tmpfs").put("source", "tmpfs");
    ArrayNode ns = spec.putObject("linux").putArray("namespaces");
    for (String t : List.of("pid", "mount", "uts", "ipc", "cgroup")) {
      ns.addObject().put("type", t);
    }
    return spec;
  }

  /** An ext4 image holding busybox and its applet links, built with mkfs.ext4 -d. */
  static Path busyboxDisk(Path work) throws IOException, InterruptedException {
    Path root = work.resolve("rootfs");
    Files.createDirectories(root.resolve("bin"));
    Files.copy(TestInitramfs.BUSYBOX, root.resolve("bin/busybox"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    for (String applet : List.of("sh", "echo", "cat", "sleep", "true", "hostname", "id")) {
      Path link = root.resolve("bin").resolve(applet);
      if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(link, Path.of("busybox"));
      }
    }
    for (String d : List.of("proc", "dev", "tmp", "sys")) {
      Files.createDirectories(root.resolve(d));
    }
    Path disk = work.resolve("rootfs.ext4");
    Files.deleteIfExists(disk);
    Process p = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", root.toString(), disk.toString(),
        "16M").redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException("mkfs.ext4 failed: " + log);
    }
    return disk;
  }
}

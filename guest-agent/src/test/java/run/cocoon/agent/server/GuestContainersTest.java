package run.cocoon.agent.server;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.container.ContainerRuntime;

/**
 * The agent's request handling with real containers on this host: the host client, the protocol
 * server and the container library, with a local busybox rootfs standing in for the guest disk.
 * Needs root (namespaces, cgroups) and busybox-static.
 */
class GuestContainersTest {
  private static final Path BUSYBOX = Path.of("/bin/busybox");
  private static final Request.Rootfs DISK = new Request.Rootfs("/dev/vdb", false, false);

  @TempDir Path dir;
  private ServerSocketChannel listener;
  private ProtocolServer server;
  private GuestContainers containers;
  private AgentClient client;

  @BeforeEach
  void start() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "skipped: containers need root");
    assumeTrue(Files.isExecutable(BUSYBOX), "skipped: /bin/busybox (busybox-static) is absent");
    Path rootfs = dir.resolve("rootfs");
    Files.createDirectories(rootfs.resolve("bin"));
    Files.copy(BUSYBOX, rootfs.resolve("bin/busybox"));
    for (String applet : List.of("sh", "echo", "cat", "sleep", "tail", "id", "hostname", "tty",
        "mkdir")) {
      Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
    }
    for (String d : List.of("proc", "dev", "tmp")) {
      Files.createDirectories(rootfs.resolve(d));
    }
    containers = new GuestContainers(ContainerRuntime.defaults(), new RootfsProvider() {
      @Override
      public Path prepare(String container, Request.Rootfs r) {
        return rootfs;
      }

      @Override
      public void release(String container) {}
    });
    server = new ProtocolServer(containers, () -> {}, t -> {});
    listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    listener.bind(UnixDomainSocketAddress.of(dir.resolve("agent.sock")));
    Thread.ofPlatform().daemon().start(() -> {
      try {
        while (true) {
          server.accept(wrap(listener.accept()));
        }
      } catch (IOException e) {
        // closed
      }
    });
    client = AgentClient.connect(() -> {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      ch.connect(listener.getLocalAddress());
      return wrap(ch);
    });
  }

  @AfterEach
  void stop() throws IOException {
    if (containers != null) {
      containers.stopAll();
    }
    if (client != null) {
      client.close();
    }
    if (listener != null) {
      listener.close();
      server.close();
    }
  }

  private static Connection wrap(SocketChannel ch) {
    return UnixConnections.wrap(ch);
  }


  private static ObjectNode spec(String... args) {
    ObjectNode spec = Codec.json().createObjectNode();
    spec.put("ociVersion", "1.0.2");
    ObjectNode process = spec.putObject("process");
    ArrayNode a = process.putArray("args");
    for (String s : args) {
      a.add(s);
    }
    process.putArray("env").add("PATH=/bin");
    process.put("cwd", "/");
    spec.put("hostname", "guest");
    ArrayNode mounts = spec.putArray("mounts");
    mounts.addObject().put("destination", "/proc").put("type", "proc").put("source", "proc");
    mounts.addObject().put("destination", "/tmp").put("type", "tmpfs").put("source", "tmpfs");
    ArrayNode ns = spec.putObject("linux").putArray("namespaces");
    for (String t : List.of("pid", "mount", "uts", "ipc", "cgroup")) {
      ns.addObject().put("type", t);
    }
    return spec;
  }

  private CompletableFuture<String> read(String container, String exec, Request.Stream stream)
      throws Exception {
    Connection c = client.attach(container, exec, stream);
    // A thread of its own per stream: the common pool may have a single thread on a small
    // machine, and these reads block until the process ends.
    CompletableFuture<String> result = new CompletableFuture<>();
    Thread.ofPlatform().daemon().start(() -> {
      try (c) {
        result.complete(new String(c.input().readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        result.completeExceptionally(e);
      }
    });
    return result;
  }

  @Test
  void outputAndExitStatusReachTheHost() throws Exception {
    client.create("c1", spec("sh", "-c", "echo hi; hostname; echo oops >&2; exit 3"), DISK, null);
    var out = read("c1", null, Request.Stream.STDOUT);
    var err = read("c1", null, Request.Stream.STDERR);
    client.start("c1");
    assertEquals(new Reply.Exited(3, 0, false), client.waitFor("c1", null));
    assertEquals("hi\nguest\n", out.get(120, TimeUnit.SECONDS));
    assertEquals("oops\n", err.get(120, TimeUnit.SECONDS));
    assertEquals("stopped", client.list().getFirst().status());
    client.delete("c1", false);
    assertTrue(client.list().isEmpty());
  }

  @Test
  void stdinFlowsInAndExecRunsBesideTheContainer() throws Exception {
    // The container's PID 1 gets no default signal actions: it must trap SIGTERM to see it.
    client.create("c2", spec("sh", "-c", "trap 'echo got-term; exit 143' TERM; cat; while true; do sleep 1; done"),
        DISK, new Request.Stdio(false, true));
    var out = read("c2", null, Request.Stream.STDOUT);
    client.start("c2");
    try (Connection in = client.attach("c2", null, Request.Stream.STDIN)) {
      in.output().write("typed\n".getBytes(StandardCharsets.UTF_8));
      in.output().flush();
      in.shutdownOutput();
      assertEquals(-1, in.input().read());
    }
    ObjectNode process = spec("sh", "-c", "echo exec-pid=$$; exit 7").withObject("/process");
    client.exec("c2", "e1", process, null);
    var execOut = read("c2", "e1", Request.Stream.STDOUT);
    assertEquals(new Reply.Exited(7, 0, false), client.waitFor("c2", "e1"));
    assertTrue(execOut.get(120, TimeUnit.SECONDS).startsWith("exec-pid="));
    client.signal("c2", null, 15, false);
    Reply.Exited end = client.waitFor("c2", null);
    assertEquals(new Reply.Exited(143, 0, false), end);
    assertEquals("typed\ngot-term\n", out.get(120, TimeUnit.SECONDS));
  }

  @Test
  void theSpecsSeccompFilterBindsTheContainerAndItsExecs() throws Exception {
    ObjectNode spec = spec("sh", "-c", "mkdir /tmp/a 2>/dev/null || echo init-refused; sleep 30");
    spec.withObject("/linux").set("seccomp", Codec.json().readTree("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]}"""));
    client.create("sc", spec, DISK, null);
    var out = read("sc", null, Request.Stream.STDOUT);
    client.start("sc");
    ObjectNode exec = spec("sh", "-c", "mkdir /tmp/b 2>/dev/null || echo exec-refused").withObject("/process");
    client.exec("sc", "e1", exec, null);
    var execOut = read("sc", "e1", Request.Stream.STDOUT);
    assertEquals(new Reply.Exited(0, 0, false), client.waitFor("sc", "e1"));
    assertEquals("exec-refused\n", execOut.get(120, TimeUnit.SECONDS));
    client.signal("sc", null, 9, false);
    client.waitFor("sc", null);
    assertEquals("init-refused\n", out.get(120, TimeUnit.SECONDS));
    client.delete("sc", false);

    ObjectNode notify = spec("true");
    notify.withObject("/linux").set("seccomp", Codec.json().readTree(
        "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}"));
    AgentException e = assertThrows(AgentException.class, () -> client.create("bad", notify, DISK, null));
    assertEquals(Reply.Code.INVALID, e.code(), e.getMessage());
    assertTrue(e.getMessage().contains("SCMP_ACT_NOTIFY"), e.getMessage());
  }

  @Test
  void aMemoryLimitBreachIsReportedAsOomKilled() throws Exception {
    ObjectNode spec = spec("sh", "-c", "a=x; while true; do a=$a$a; done");
    spec.withObject("/linux").putObject("resources").putObject("memory").put("limit", 32L << 20);
    client.create("oom", spec, DISK, null);
    client.start("oom");
    Reply.Exited end = client.waitFor("oom", null);
    assertTrue(end.oomKilled(), end.toString());
    assertEquals(9, end.signal());
  }

  @Test
  void hostileRequestsAreRefusedAndLeaveNothing() throws Exception {
    ObjectNode badEnv = spec("true");
    badEnv.withObject("/process").withArray("env").add("NO_EQUALS_SIGN");
    AgentException e = assertThrows(AgentException.class, () -> client.create("bad", badEnv, DISK, null));
    assertEquals(Reply.Code.INVALID, e.code(), e.getMessage());
    ObjectNode escape = spec("true");
    escape.withArray("mounts").addObject().put("destination", "/../../etc").put("type", "tmpfs")
        .put("source", "tmpfs");
    e = assertThrows(AgentException.class, () -> client.create("bad", escape, DISK, null));
    assertEquals(Reply.Code.INVALID, e.code(), e.getMessage());
    assertTrue(client.list().isEmpty(), "nothing left behind");
    assertEquals(Reply.Code.NOT_FOUND,
        assertThrows(AgentException.class, () -> client.start("never")).code());
    client.create("twice", spec("sleep", "100"), DISK, null);
    assertEquals(Reply.Code.EXISTS,
        assertThrows(AgentException.class, () -> client.create("twice", spec("true"), DISK, null)).code());
    client.start("twice");
    assertEquals(Reply.Code.BAD_STATE,
        assertThrows(AgentException.class, () -> client.start("twice")).code());
    assertEquals(Reply.Code.BAD_STATE,
        assertThrows(AgentException.class, () -> client.delete("twice", false)).code());
    client.delete("twice", true);
    assertTrue(client.list().isEmpty());
  }

  @Test
  void aTerminalIsAPtyOfTheContainersOwnDevpts() throws Exception {
    ObjectNode spec = spec("sh", "-c", "tty; test -t 0 && echo on-a-tty");
    spec.withObject("/process").put("terminal", true);
    ArrayNode mounts = spec.withArray("mounts");
    mounts.addObject().put("destination", "/dev").put("type", "tmpfs").put("source", "tmpfs");
    mounts.addObject().put("destination", "/dev/pts").put("type", "devpts").put("source", "devpts")
        .putArray("options").add("newinstance").add("ptmxmode=0666").add("mode=0620");
    client.create("t1", spec, DISK, new Request.Stdio(true, true));
    var tty = read("t1", null, Request.Stream.TTY);
    client.start("t1");
    assertEquals(new Reply.Exited(0, 0, false), client.waitFor("t1", null));
    // The pty turns \n into \r\n; the container's own devpts numbers its first pty 0.
    assertEquals("/dev/pts/0\r\non-a-tty\r\n", tty.get(120, TimeUnit.SECONDS));
  }
}

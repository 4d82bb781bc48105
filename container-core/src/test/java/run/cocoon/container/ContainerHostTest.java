package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real containers on this host, from a busybox rootfs. Needs root, cgroups and the helper. */
class ContainerHostTest {
  private static final AtomicInteger SEQ = new AtomicInteger();
  private static ContainerRuntime runtime;

  @TempDir Path dir;

  @BeforeAll
  static void needsRoot() {
    assumeTrue(Sys.geteuid() == 0, "skipped: the host container tests need root");
    assumeTrue(Files.isExecutable(TestRootfs.BUSYBOX), "skipped: /bin/busybox (busybox-static) is absent");
    runtime = new ContainerRuntime(ContainerRuntime.findHelper(), CgroupManager.detect("cocoon-test"),
        PlanBuilder.capLastCap());
  }

  private ContainerConfig config(String json) throws IOException {
    Path bundle = TestRootfs.build(dir);
    return SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
  }

  private static ContainerId newId() {
    return new ContainerId("t" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
  }

  private static CompletableFuture<String> slurp(InputStream in) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "<" + e + ">";
      }
    }, r -> Thread.ofPlatform().daemon().start(r));
  }

  /** Runs a container to its end; returns {status, stdout, stderr}. */
  private record Run(ExitStatus status, String out, String err) {}

  private Run run(ContainerConfig cfg) {
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      c.init().stdin().close();
      var out = slurp(c.init().stdout());
      var err = slurp(c.init().stderr());
      c.start();
      ExitStatus s = c.waitFor(Duration.ofSeconds(30)).orElseThrow();
      return new Run(s, out.join(), err.join());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private Run sh(String script) throws IOException {
    return run(config(TestRootfs.json("sh", "-c", script)));
  }

  @Test
  void outputAndExitStatusReachTheCaller() throws IOException {
    Run r = sh("echo hi; echo oops >&2; exit 3");
    assertEquals("hi\n", r.out());
    assertEquals("oops\n", r.err());
    assertEquals(new ExitStatus.Exited(3, false), r.status());
  }

  @Test
  void hostnameAndPidNamespace() throws IOException {
    Run r = sh("hostname; echo $$; ps -o pid | wc -l");
    assertEquals("box\n1\n", r.out().lines().limit(2).map(l -> l + "\n").reduce("", String::concat));
  }

  @Test
  void procAndTmpfsMountedInOwnMountNamespace() throws IOException {
    List<String> before = Files.readAllLines(Path.of("/proc/self/mountinfo"));
    Run r = sh("grep -E ' /(proc|tmp|dev|dev/pts|sys) ' /proc/mounts | while read a b c d; do echo $b $c; done; "
        + "ls /dev; touch /tmp/x && echo tmp-writable");
    assertTrue(r.out().contains("/proc proc"), r.out());
    assertTrue(r.out().contains("/tmp tmpfs"), r.out());
    assertTrue(r.out().contains("/dev tmpfs"), r.out());
    assertTrue(r.out().contains("/dev/pts devpts"), r.out());
    assertTrue(r.out().contains("null") && r.out().contains("urandom"), r.out());
    assertTrue(r.out().contains("tmp-writable"), r.out());
    assertEquals(0, r.status().shellCode(), r.err());
    assertEquals(before.size(), Files.readAllLines(Path.of("/proc/self/mountinfo")).size(),
        "the host's mount table changed");
  }

  @Test
  void maskedAndReadonlyPathsAreEnforced() throws IOException {
    Run r = sh("wc -c < /etc/hidden; ls /secret | wc -l; cat /secret/key; "
        + "touch /ro/x 2>/dev/null && echo ro-writable; "
        + "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo procsys-writable; echo done");
    assertEquals("0\n0\ndone\n", r.out(), r.err());
  }

  @Test
  void readonlyRootfs() throws IOException {
    String json = TestRootfs.json("sh", "-c", "touch /x 2>/dev/null && echo writable; touch /tmp/y && echo tmp-ok")
        .replace("\"readonly\": false", "\"readonly\": true");
    Run r = run(config(json));
    assertEquals("tmp-ok\n", r.out(), r.err());
  }

  @Test
  void userAndGroupsSwitch() throws IOException {
    String json = TestRootfs.json(List.of("sh", "-c", "id -u; id -g; id -G; grep CapEff /proc/self/status"),
        Map.of("process", "\"user\": {\"uid\": 1000, \"gid\": 1001, \"additionalGids\": [10, 20]},"));
    Run r = run(config(json));
    assertEquals("1000\n1001\n1001 10 20\nCapEff:\t0000000000000000\n", r.out(), r.err());
  }

  @Test
  void capabilitiesAreDroppedToTheConfiguredSet() throws IOException {
    // As root, execve gives the whole bounding set (no SECBIT_NOROOT), as with runc.
    String json = TestRootfs.json(List.of("sh", "-c", "grep -E 'Cap(Eff|Bnd|Prm)' /proc/self/status"),
        Map.of("process", """
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL", "CAP_CHOWN"]},"""));
    Run r = run(config(json));
    assertEquals("CapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000000021\n",
        r.out(), r.err());
  }

  @Test
  void ambientCapabilitiesSurviveTheSwitchToANonRootUser() throws IOException {
    String json = TestRootfs.json(List.of("sh", "-c", "id -u; grep -E 'Cap(Eff|Bnd|Amb)' /proc/self/status"),
        Map.of("process", """
            "user": {"uid": 1000, "gid": 1000},
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
                             "ambient": ["CAP_KILL"]},"""));
    Run r = run(config(json));
    assertEquals("1000\nCapEff:\t0000000000000020\nCapBnd:\t0000000000000021\n"
        + "CapAmb:\t0000000000000020\n", r.out(), r.err());
  }

  @Test
  void defaultCapabilitiesAreRuncs() throws IOException {
    Run r = sh("grep CapEff /proc/self/status");
    assertEquals(String.format("CapEff:\t%016x\n", Capabilities.mask(Capabilities.DEFAULT)), r.out());
  }

  @Test
  void noNewPrivilegesAndRlimits() throws IOException {
    String json = TestRootfs.json(List.of("sh", "-c", "grep NoNewPrivs /proc/self/status; ulimit -n; ulimit -Hn"),
        Map.of("process", """
            "noNewPrivileges": true,
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}],"""));
    Run r = run(config(json));
    assertEquals("NoNewPrivs:\t1\n123\n456\n", r.out(), r.err());
  }

  @Test
  void pidsLimitIsApplied() throws IOException {
    String json = TestRootfs.json(List.of("sh", "-c",
            "(for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait); echo finished"),
        Map.of("linux", ", \"resources\": {\"pids\": {\"limit\": 4}}"));
    ContainerConfig cfg = config(json);
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      Path pidsDir = c.cgroup().directories().getOrDefault("pids", c.cgroup().directories().get("unified"));
      assertEquals("4", Files.readString(pidsDir.resolve("pids.max")).trim());
      assertEquals(Set.of(c.pid()), c.cgroup().pids(), "only the container process is in the cgroup");
      var err = slurp(c.init().stderr());
      var out = slurp(c.init().stdout());
      c.start();
      assertEquals(0, c.waitFor(Duration.ofSeconds(30)).orElseThrow().shellCode());
      assertEquals("finished\n", out.join());
      assertTrue(err.join().contains("can't fork"), err.join());
    }
  }

  @Test
  void memoryLimitBreachIsReportedAsOomKill() throws IOException {
    String json = TestRootfs.json(List.of("tail", "/dev/zero"),
        Map.of("linux", ", \"resources\": {\"memory\": {\"limit\": 33554432}}"));
    Run r = run(config(json));
    assertEquals(new ExitStatus.Signaled(9, true), r.status());
  }

  @Test
  void execJoinsTheRunningContainer() throws IOException {
    ContainerConfig cfg = config(TestRootfs.json("sleep", "30"));
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      c.start();
      assertEquals(Container.State.RUNNING, c.state());
      var p = SpecValidator.validateProcess(new OciSpec.Process(false, null,
          List.of("sh", "-c", "hostname; cat /proc/1/cmdline; echo; ls /secret | wc -l; exit 5"),
          List.of("PATH=/bin"), "/tmp", null, null, false), "exec");
      try (ContainerProcess e = c.exec(p, Stdio.pipes())) {
        e.stdin().close();
        var out = slurp(e.stdout());
        assertEquals(new ExitStatus.Exited(5, false), e.waitFor());
        assertEquals("box\nsleep30\n0\n", out.join().replace("\0", ""));
        assertTrue(c.cgroup().pids().contains(c.pid()));
      }
      assertTrue(c.state() == Container.State.RUNNING);
    }
  }

  @Test
  void sigtermIsDelivered() throws IOException {
    ContainerConfig cfg = config(TestRootfs.json("sh", "-c",
        "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.05; done"));
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      c.start();
      InputStream out = c.init().stdout();
      byte[] ready = new byte[6];
      assertEquals(6, out.readNBytes(ready, 0, 6));
      assertEquals("ready\n", new String(ready, StandardCharsets.UTF_8));
      assertTrue(c.init().signalsThroughPidfd());
      assertTrue(c.signal(15));
      assertEquals(new ExitStatus.Exited(7, false), c.waitFor(Duration.ofSeconds(10)).orElseThrow());
      assertEquals("got-term\n", new String(out.readAllBytes(), StandardCharsets.UTF_8));
      assertFalse(c.signal(15), "an ended process is not signalled");
    }
  }

  @Test
  void deleteLeavesNothingBehind() throws IOException {
    List<String> mountsBefore = Files.readAllLines(Path.of("/proc/self/mountinfo"));
    ContainerConfig cfg = config(TestRootfs.json("sh", "-c", "sleep 100 & sleep 100 & sleep 100; echo end"));
    Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime);
    int pid;
    int helper;
    Set<Integer> pids;
    Map<String, Path> dirs;
    try {
      c.start();
      pid = c.pid();
      helper = c.init().helperPid();
      for (int i = 0; i < 200 && c.cgroup().pids().size() < 4; i++) {
        sleep(10);
      }
      pids = c.cgroup().pids();
      assertEquals(4, pids.size(), "sh and three sleeps: " + pids);
      dirs = c.cgroup().directories();
    } finally {
      c.delete();
    }
    assertEquals(Container.State.DELETED, c.state());
    for (int p : pids) {
      assertFalse(Files.exists(Path.of("/proc/" + p)), "process " + p + " left behind");
    }
    assertFalse(Files.exists(Path.of("/proc/" + pid)));
    assertFalse(Files.exists(Path.of("/proc/" + helper)), "helper not reaped");
    for (Path d : dirs.values()) {
      assertFalse(Files.exists(d), "cgroup " + d + " left behind");
    }
    assertEquals(mountsBefore.size(), Files.readAllLines(Path.of("/proc/self/mountinfo")).size());
  }

  @Test
  void createdButNeverStartedContainerIsDeletedCleanly() throws IOException {
    ContainerConfig cfg = config(TestRootfs.json("echo", "never"));
    Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime);
    int pid;
    Map<String, Path> dirs;
    try {
      assertEquals(Container.State.CREATED, c.state());
      pid = c.pid();
      assertTrue(Files.exists(Path.of("/proc/" + pid)));
      dirs = c.cgroup().directories();
    } finally {
      c.delete();
    }
    assertFalse(Files.exists(Path.of("/proc/" + pid)));
    for (Path d : dirs.values()) {
      assertFalse(Files.exists(d));
    }
  }

  @Test
  void missingExecutableFailsAtStartWithTheStep() throws IOException {
    ContainerConfig cfg = config(TestRootfs.json("/bin/nonexistent"));
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      SpawnException e = assertThrows(SpawnException.class, c::start);
      assertEquals("execve", e.step());
      assertEquals(2, e.errno());
      assertTrue(e.getMessage().startsWith("executable file /bin/nonexistent not found in the container"),
          e.getMessage());
      assertInstanceOf(ExitStatus.Exited.class, c.waitFor());
    }
  }

  @Test
  void commandMissingFromPathSaysWhereItWasLookedFor() throws IOException {
    try (Container c = Container.create(newId(), config(TestRootfs.json("no-such-command")),
        Stdio.pipes(), runtime)) {
      SpawnException e = assertThrows(SpawnException.class, c::start);
      assertTrue(e.getMessage().startsWith(
          "executable file 'no-such-command' not found in the container's PATH ("), e.getMessage());
      c.waitFor();
    }
  }

  @Test
  void badCwdFailsAtCreateAndLeavesNoCgroup() throws IOException {
    String json = TestRootfs.json("true").replace("\"cwd\": \"/\"", "\"cwd\": \"/no/such/dir\"");
    ContainerConfig cfg = config(json);
    ContainerId id = newId();
    SpawnException e = assertThrows(SpawnException.class,
        () -> Container.create(id, cfg, Stdio.pipes(), runtime));
    assertEquals("chdir", e.step());
    assertTrue(e.getMessage().startsWith("cannot enter the working directory /no/such/dir"), e.getMessage());
    for (Path base : runtime.cgroups().bases().values()) {
      assertFalse(Files.exists(base.resolve(id.value())));
    }
  }

  @Test
  void symlinkSwappedInAfterValidationCannotEscapeTheRoot() throws IOException {
    String json = TestRootfs.json("true").replace("\"destination\": \"/tmp\"", "\"destination\": \"/work/sub\"");
    ContainerConfig cfg = config(json);
    Path outside = dir.resolve("outside");
    Files.createDirectories(outside);
    // After validation the rootfs changes: /work now points at a host directory.
    Files.createSymbolicLink(dir.resolve("rootfs/work"), outside);
    ContainerId id = newId();
    SpawnException e = assertThrows(SpawnException.class,
        () -> Container.create(id, cfg, Stdio.pipes(), runtime));
    assertEquals("mkdir", e.step(), e.getMessage());
    assertFalse(Files.exists(outside.resolve("sub")), "a directory was created outside the rootfs");
  }

  @Test
  void helperRunsOnlyRelayOperationsBeforeFork() {
    // SETSID is a container-process operation: refused at op 1, before it could run in the relay
    // (without the check, both would run and the plan would fail at its end, op 2).
    List<PlanOp> plan = List.of(new PlanOp.SetSid(), new PlanOp.Unshare(0));
    SpawnException e = assertThrows(SpawnException.class,
        () -> ContainerProcess.spawn(runtime.helper(), plan, Stdio.pipes(), "corrupt"));
    assertEquals("decode plan", e.step(), e.getMessage());
    assertEquals(1, e.opIndex(), e.getMessage());
  }

  @Test
  void truncatedOrShortRecordsAreRefused() {
    // FORK, then a MOUNT record carrying no strings at all (it needs four).
    byte[] fork = PlanEncoder.encode(List.of(new PlanOp.Fork()));
    byte[] mount = {7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    byte[] plan = java.util.Arrays.copyOf(fork, fork.length + mount.length);
    System.arraycopy(mount, 0, plan, fork.length, mount.length);
    for (byte[] p : List.of(plan, java.util.Arrays.copyOf(plan, plan.length - 3), new byte[] {'X'})) {
      SpawnException e = assertThrows(SpawnException.class,
          () -> ContainerProcess.spawnEncoded(runtime.helper(), p, Stdio.pipes(), "short"));
      assertTrue(e.step().equals("decode plan"), e.getMessage());
    }
  }

  @Test
  void planWithoutExecIsRefused() {
    List<PlanOp> plan = List.of(new PlanOp.Fork(), new PlanOp.SetSid());
    SpawnException e = assertThrows(SpawnException.class,
        () -> ContainerProcess.spawn(runtime.helper(), plan, Stdio.pipes(), "noexec"));
    assertEquals("decode plan", e.step(), e.getMessage());
  }

  @Test
  void statsReportTheCgroupsCounters() throws IOException {
    ContainerConfig cfg = config(TestRootfs.json("sleep", "30"));
    try (Container c = Container.create(newId(), cfg, Stdio.pipes(), runtime)) {
      c.start();
      CgroupStats s = c.stats();
      assertEquals(1, s.pids());
      assertTrue(s.memoryBytes() > 0, s.toString());
      assertTrue(s.cpuNanos() >= 0, s.toString());
      assertEquals(0, s.oomKills());
    }
  }

  @Test
  void terminalIsTheControllingTerminal() throws IOException {
    String json = TestRootfs.json("sh", "-c",
            "[ -t 0 ] && echo tty0; [ -t 1 ] && echo tty1; stty size; cut -d' ' -f7 /proc/self/stat; exit 4")
        .replace("\"terminal\": false", "\"terminal\": true");
    ContainerConfig cfg = config(json);
    assertThrows(IllegalArgumentException.class, () -> Container.create(newId(), cfg, Stdio.pipes(), runtime));
    try (Container c = Container.create(newId(), cfg, Stdio.terminal(33, 101), runtime)) {
      var out = slurp(c.init().stdout());
      c.start();
      assertEquals(new ExitStatus.Exited(4, false), c.waitFor(Duration.ofSeconds(30)).orElseThrow());
      c.init().stdout().close();
      String text = out.join().replace("\r", "");
      List<String> lines = text.lines().toList();
      assertTrue(lines.size() >= 4, text);
      assertEquals(List.of("tty0", "tty1", "33 101"), lines.subList(0, 3), text);
      assertTrue(Integer.parseInt(lines.get(3).trim()) != 0, "tty_nr: " + text);
    }
  }

  @Test
  void noFileDescriptorLeaks() throws IOException {
    String bad = TestRootfs.json("true").replace("\"cwd\": \"/\"", "\"cwd\": \"/no/such/dir\"");
    ContainerConfig good = config(TestRootfs.json("sh", "-c", "echo x"));
    ContainerConfig failing = SpecValidator.validate(OciSpec.parse(bad.getBytes(StandardCharsets.UTF_8)), dir);
    Runnable cycle = () -> {
      assertThrows(SpawnException.class, () -> Container.create(newId(), failing, Stdio.pipes(), runtime));
      run(good);
    };
    cycle.run(); // warm up: classes, jars, threads
    long before = openFds();
    for (int i = 0; i < 3; i++) {
      cycle.run();
    }
    assertEquals(before, openFds(), "file descriptors leaked");
  }

  private static long openFds() throws IOException {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    }
  }

  @Test
  void helperIsStaticallyLinked() throws IOException {
    // No PT_INTERP program header: runs in a busybox-only initramfs without a dynamic loader.
    java.nio.ByteBuffer elf = java.nio.ByteBuffer.wrap(Files.readAllBytes(runtime.helper()))
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertEquals(0x464c457f, elf.getInt(0), "ELF magic");
    long phoff = elf.getLong(0x20);
    int phentsize = elf.getShort(0x36) & 0xffff;
    int phnum = elf.getShort(0x38) & 0xffff;
    for (int i = 0; i < phnum; i++) {
      assertTrue(elf.getInt((int) phoff + i * phentsize) != 3, "PT_INTERP present: dynamically linked");
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}

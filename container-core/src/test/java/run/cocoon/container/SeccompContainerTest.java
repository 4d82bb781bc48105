package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.container.seccomp.DefaultSeccompProfile;
import run.cocoon.container.seccomp.PodmanTemplate;

/** linux.seccomp applied to real containers on this host. Needs root, cgroups and the helper. */
class SeccompContainerTest {
  private static final AtomicInteger SEQ = new AtomicInteger();
  private static final int SIGSYS = 31;
  private static ContainerRuntime runtime;

  @TempDir Path dir;

  @BeforeAll
  static void needsRoot() {
    assumeTrue(Sys.geteuid() == 0, "skipped: the host container tests need root");
    assumeTrue(Files.isExecutable(TestRootfs.BUSYBOX), "skipped: /bin/busybox (busybox-static) is absent");
    runtime = new ContainerRuntime(ContainerRuntime.findHelper(), CgroupManager.detect("cocoon-test"),
        PlanBuilder.capLastCap());
  }

  private record Run(ExitStatus status, String out, String err) {}

  /** Runs {@code sh -c script} with {@code process} and {@code linux} JSON fragments. */
  private Run sh(String script, String process, String linux) throws IOException {
    Path bundle = TestRootfs.build(dir.resolve("b" + SEQ.incrementAndGet()));
    Files.createSymbolicLink(bundle.resolve("rootfs/bin/mkdir"), Path.of("busybox"));
    Files.createSymbolicLink(bundle.resolve("rootfs/bin/linux32"), Path.of("busybox"));
    String json = TestRootfs.json(List.of("sh", "-c", script),
        Map.of("process", process, "linux", linux));
    ContainerConfig cfg = SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
    ContainerId id = new ContainerId("s" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet());
    try (Container c = Container.create(id, cfg, Stdio.pipes(), runtime)) {
      c.init().stdin().close();
      var out = slurp(c.init().stdout());
      var err = slurp(c.init().stderr());
      c.start();
      ExitStatus s = c.waitFor(Duration.ofSeconds(30)).orElseThrow();
      return new Run(s, out.join(), err.join());
    }
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

  private static String seccomp(String profile) {
    return ", \"seccomp\": " + profile;
  }

  /** The default capabilities plus CAP_SYS_ADMIN, so that a refusal can only be seccomp's. */
  private static String capabilitiesWithSysAdmin() {
    List<String> caps = new java.util.ArrayList<>(Capabilities.DEFAULT);
    caps.add("CAP_SYS_ADMIN");
    String list = "[\"" + String.join("\", \"", caps) + "\"]";
    return "\"capabilities\": {\"bounding\": %s, \"effective\": %s, \"permitted\": %s},".formatted(list, list, list);
  }

  @Test
  void podmansDefaultProfileDeniesWhatItDenies() throws IOException {
    assumeTrue(Files.isRegularFile(PodmanTemplate.PATH),
        "skipped: " + PodmanTemplate.PATH + " (containers-common) is absent");
    // Resolved for the default capabilities, but the process has CAP_SYS_ADMIN: sethostname is
    // then refused by the filter alone (the capability and the container's UTS namespace would
    // allow it), and mount, which the profile allows, works.
    ObjectNode profile = PodmanTemplate.resolve(PodmanTemplate.PATH, new HashSet<>(Capabilities.DEFAULT));
    String script = "hostname other; echo hostname=$?; mount -t tmpfs none /tmp && echo mounted; "
        + "linux32 true && echo linux32";
    Run confined = sh(script, capabilitiesWithSysAdmin(), seccomp(profile.toString()));
    assertTrue(confined.err().contains("Operation not permitted"), confined.err());
    assertEquals("hostname=1\nmounted\nlinux32\n", confined.out(), confined.err());
    assertEquals(0, confined.status().shellCode());

    Run unconfined = sh(script, capabilitiesWithSysAdmin(), "");
    assertEquals("hostname=0\nmounted\nlinux32\n", unconfined.out(), unconfined.err());
  }

  @Test
  void podmansProfileBindsTheProcessWithNoNewPrivileges() throws IOException {
    assumeTrue(Files.isRegularFile(PodmanTemplate.PATH),
        "skipped: " + PodmanTemplate.PATH + " (containers-common) is absent");
    ObjectNode profile = PodmanTemplate.resolve(PodmanTemplate.PATH, new HashSet<>(Capabilities.DEFAULT));
    Run r = sh("hostname other || echo refused", "\"noNewPrivileges\": true, " + capabilitiesWithSysAdmin(),
        seccomp(profile.toString()));
    assertEquals("refused\n", r.out(), r.err());
  }

  @Test
  void theDefaultProfileRunsAShellAndRefusesWhatPodmansRefuses() throws IOException {
    Run r = sh("hostname other 2>/dev/null || echo refused; mkdir /tmp/d && ls /tmp",
        "\"noNewPrivileges\": true, " + capabilitiesWithSysAdmin(),
        seccomp(DefaultSeccompProfile.json().toString()));
    assertEquals("refused\nd\n", r.out(), r.err());
  }

  @Test
  void aProfileCanKillOnMkdir() throws IOException {
    String kill = seccomp("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}""");
    Run r = sh("mkdir /tmp/d; echo status=$?; ls /tmp | wc -l", "\"noNewPrivileges\": true,", kill);
    assertEquals("status=" + (128 + SIGSYS) + "\n0\n", r.out(), r.err());

    Run init = sh("exec mkdir /tmp/d", "", kill);
    assertEquals(new ExitStatus.Signaled(SIGSYS, false), init.status());
  }

  @Test
  void argumentRulesAllowSomeValuesOnly() throws IOException {
    // personality only for PER_LINUX (0) and the query (0xffffffff): linux32 (PER_LINUX32) is
    // refused. openat with O_CREAT (masked equality on the flags) is refused with EACCES.
    String profile = seccomp("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
           {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
           {"names": ["open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
            "args": [{"index": 1, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]},
           {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
            "args": [{"index": 2, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]}]}""");
    Run r = sh("linux32 true || echo no-linux32; touch /tmp/new || echo no-create; "
        + "head -c 4 /etc/passwd && echo; echo > /tmp/x || echo no-redirect", "", profile);
    assertEquals("no-linux32\nno-create\nroot\nno-redirect\n", r.out(), r.err());
    assertTrue(r.err().contains("Invalid argument"), r.err());
    assertTrue(r.err().contains("Permission denied"), r.err());
  }

  @Test
  void execProcessesGetTheContainersFilter() throws Exception {
    Path bundle = TestRootfs.build(dir.resolve("exec"));
    Files.createSymbolicLink(bundle.resolve("rootfs/bin/mkdir"), Path.of("busybox"));
    String json = TestRootfs.json(List.of("sleep", "30"), Map.of("linux", seccomp("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]}""")));
    ContainerConfig cfg = SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
    try (Container c = Container.create(new ContainerId("s" + ProcessHandle.current().pid() + "-exec"),
        cfg, Stdio.pipes(), runtime)) {
      c.start();
      var p = SpecValidator.validateProcess(new OciSpec.Process(false, null,
          List.of("sh", "-c", "mkdir /tmp/d"), List.of("PATH=/bin"), "/", null, null, false), "exec");
      ContainerProcess e = c.exec(p, Stdio.pipes());
      e.stdin().close();
      var err = slurp(e.stderr());
      slurp(e.stdout());
      assertEquals(new ExitStatus.Exited(1, false), e.waitFor(Duration.ofSeconds(30)).orElseThrow());
      assertTrue(err.join().contains("Read-only file system"), err.join());
      c.signal(9);
    }
  }

  @Test
  void aFilterWithFlagsIsInstalled() throws IOException {
    Path bundle = TestRootfs.build(dir.resolve("bad"));
    String json = TestRootfs.json(List.of("true"), Map.of("linux",
        seccomp("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\"]}")));
    ContainerConfig cfg = SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
    try (Container c = Container.create(new ContainerId("s" + ProcessHandle.current().pid() + "-tsync"),
        cfg, Stdio.pipes(), runtime)) {
      c.start();
      assertEquals(new ExitStatus.Exited(0, false), c.waitFor(Duration.ofSeconds(30)).orElseThrow());
    }
  }

  @Test
  void aFilterTheKernelRefusesFailsTheCreateNamingTheStep() throws IOException {
    Path bundle = TestRootfs.build(dir.resolve("refused"));
    ContainerConfig c = SpecValidator.validate(OciSpec.parse(
        TestRootfs.json("true").getBytes(StandardCharsets.UTF_8)), bundle);
    // A jump past the program's end: the kernel's filter check refuses it with EINVAL.
    var broken = new run.cocoon.container.seccomp.SeccompFilter(0, new long[] {0x05L | 100L << 32});
    ContainerConfig withBroken = new ContainerConfig(c.rootfs(), c.readonlyRoot(), c.hostname(),
        c.mounts(), c.unshareFlags(), c.joins(), c.maskedPaths(), c.readonlyPaths(), c.process(),
        c.resources(), c.annotations(), broken);
    SpawnException e = org.junit.jupiter.api.Assertions.assertThrows(SpawnException.class,
        () -> Container.create(new ContainerId("s" + ProcessHandle.current().pid() + "-broken"),
            withBroken, Stdio.pipes(), runtime).close());
    assertTrue(e.getMessage().contains("seccomp filter") && e.getMessage().contains("EINVAL"),
        e.getMessage());
  }
}

package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanTest {
  @TempDir Path bundle;

  @Test
  void encodingIsTheDocumentedByteFormat() {
    byte[] b = PlanEncoder.encode(List.of(new PlanOp.Hostname("ab"), new PlanOp.Unshare(0x20000)));
    byte[] expected = {
        'C', 'S', 'P', '1',
        6, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 'b', 0,
        2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0};
    assertArrayEquals(expected, b);
  }

  @Test
  void roundTrip() {
    List<PlanOp> ops = List.of(
        new PlanOp.Mount("proc", "proc", true, "proc", 14, ""),
        new PlanOp.SetGroups(List.of(10L, 20L)),
        new PlanOp.Exec("/bin", List.of("sh", "-c", "x"), List.of("A=1")));
    List<PlanEncoder.Decoded> d = PlanEncoder.decode(PlanEncoder.encode(ops));
    assertEquals(3, d.size());
    assertEquals(7, d.get(0).opcode());
    assertArrayEquals(new long[] {14, 1}, d.get(0).nums());
    assertEquals(List.of("proc", "proc", "proc", ""), d.get(0).strings());
    assertArrayEquals(new long[] {10, 20}, d.get(1).nums());
    assertEquals(List.of("/bin", "sh", "-c", "x", "A=1"), d.get(2).strings());
    assertArrayEquals(new long[] {3}, d.get(2).nums());
  }

  private static final String SECCOMP = ", \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\","
      + " \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], \"syscalls\": [{\"names\": [\"mkdir\"],"
      + " \"action\": \"SCMP_ACT_KILL\"}]}";

  private List<String> kinds(String process) throws IOException {
    TestRootfs.build(bundle);
    String json = TestRootfs.json(List.of("sh"), java.util.Map.of("process", process, "linux", SECCOMP));
    ContainerConfig c = SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
    return PlanBuilder.create(c, List.of(), 40).stream().map(o -> o.getClass().getSimpleName()).toList();
  }

  @Test
  void withNoNewPrivilegesTheFilterIsTheLastStepBeforeExecve() throws IOException {
    List<String> kinds = kinds("\"noNewPrivileges\": true,");
    assertEquals(List.of("NoNewPrivs", "Chdir", "Ready", "WaitStart", "Seccomp", "Exec"),
        kinds.subList(kinds.size() - 6, kinds.size()));
  }

  @Test
  void withoutNoNewPrivilegesTheFilterComesWhileCapSysAdminIsHeld() throws IOException {
    List<String> kinds = kinds("");
    assertEquals(1, kinds.stream().filter("Seccomp"::equals).count());
    assertTrue(kinds.indexOf("Seccomp") < kinds.indexOf("DropBounding"), kinds.toString());
  }

  @Test
  void execPlansGetTheFilterToo() {
    var f = new run.cocoon.container.seccomp.SeccompFilter(0, new long[] {0x06L});
    var p = new ContainerConfig.ProcessConfig(List.of("true"), List.of(), "/", 0, 0, List.of(),
        List.of(), new Capabilities.Sets(0, 0, 0, 0, 0), true, false);
    List<PlanOp> ops = PlanBuilder.exec(42, SpecValidator.CLONE_NEWPID, List.of(), p, f, 40);
    assertEquals(new PlanOp.Seccomp(f), ops.get(ops.size() - 2));
    assertTrue(ops.getLast() instanceof PlanOp.Exec);
  }

  @Test
  void theSeccompOpCarriesFlagsThenTheProgram() {
    var f = new run.cocoon.container.seccomp.SeccompFilter(2, new long[] {0x20L | 4L << 32, 0x06L});
    List<PlanEncoder.Decoded> d = PlanEncoder.decode(PlanEncoder.encode(List.of(new PlanOp.Seccomp(f))));
    assertEquals(31, d.get(0).opcode());
    assertArrayEquals(new long[] {2, 0x20L | 4L << 32, 0x06L}, d.get(0).nums());
  }

  @Test
  void nulInAStringIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> PlanEncoder.encode(List.of(new PlanOp.Hostname("a\0b"))));
  }

  @Test
  void createPlanOrder() throws IOException {
    TestRootfs.build(bundle);
    ContainerConfig c = SpecValidator.validate(
        OciSpec.parse(TestRootfs.json("sh").getBytes(StandardCharsets.UTF_8)), bundle);
    List<PlanOp> ops = PlanBuilder.create(c, List.of("/cg/cgroup.procs"), 40);
    List<String> kinds = ops.stream().map(o -> o.getClass().getSimpleName()).toList();
    // PID namespace in the relay, everything else in the child, after it joined its cgroup.
    assertEquals(List.of("Unshare", "Fork", "JoinCgroup", "Unshare", "SetSid", "Hostname"), kinds.subList(0, 6));
    assertEquals(new PlanOp.Unshare(SpecValidator.CLONE_NEWPID), ops.get(0));
    int pivot = kinds.indexOf("PivotRoot");
    assertTrue(kinds.lastIndexOf("Mask") < pivot && kinds.lastIndexOf("ReadOnly") < pivot);
    assertTrue(kinds.indexOf("DropBounding") < kinds.indexOf("SetResUid"));
    assertTrue(kinds.indexOf("SetResUid") < kinds.indexOf("CapSet"));
    assertEquals(List.of("Chdir", "Ready", "WaitStart", "Exec"), kinds.subList(kinds.size() - 4, kinds.size()));
    // the cgroup mount is skipped; /dev gets the default devices
    assertTrue(ops.contains(new PlanOp.Mount("/dev/null", "dev/null", true, "", MountOptions.MS_BIND, "")));
    assertTrue(ops.stream().noneMatch(o -> o instanceof PlanOp.Mount m && m.fstype().equals("cgroup")));
  }

  @Test
  void execPlanJoinsNamespacesMountLast() {
    var p = new ContainerConfig.ProcessConfig(List.of("true"), List.of(), "/", 0, 0, List.of(),
        List.of(), new Capabilities.Sets(0, 0, 0, 0, 0), false, false);
    List<PlanOp> ops = PlanBuilder.exec(42, SpecValidator.CLONE_NEWPID | SpecValidator.CLONE_NEWNS
        | SpecValidator.CLONE_NEWUTS, List.of("/cg/cgroup.procs"), p, null, 40);
    assertEquals(new PlanOp.SetNs("/proc/42/ns/pid", SpecValidator.CLONE_NEWPID), ops.get(0));
    assertEquals(new PlanOp.Fork(), ops.get(1));
    assertEquals(new PlanOp.JoinCgroup("/cg/cgroup.procs"), ops.get(2));
    assertEquals(new PlanOp.SetNs("/proc/42/ns/uts", SpecValidator.CLONE_NEWUTS), ops.get(3));
    assertEquals(new PlanOp.SetNs("/proc/42/ns/mnt", SpecValidator.CLONE_NEWNS), ops.get(4));
    assertTrue(ops.stream().noneMatch(o -> o instanceof PlanOp.WaitStart));
  }
}

package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SpecValidatorTest {
  @TempDir Path bundle;

  @BeforeEach
  void rootfs() throws IOException {
    TestRootfs.build(bundle);
    Files.createSymbolicLink(bundle.resolve("rootfs/escape"), Path.of("/"));
    Files.createSymbolicLink(bundle.resolve("rootfs/up"), Path.of("../../../.."));
  }

  private ContainerConfig validate(String json) {
    return SpecValidator.validate(OciSpec.parse(json.getBytes(StandardCharsets.UTF_8)), bundle);
  }

  @Test
  void runcLikeSpecIsAccepted() {
    ContainerConfig c = validate(TestRootfs.json("sh", "-c", "echo hi"));
    assertEquals(bundle.resolve("rootfs"), c.rootfs());
    assertEquals("box", c.hostname());
    assertEquals(List.of("sh", "-c", "echo hi"), c.process().args());
    assertEquals("/bin", c.process().searchPath());
    assertEquals(Capabilities.mask(Capabilities.DEFAULT), c.process().capabilities().effective());
    assertEquals(8, c.mounts().size());
    assertEquals("/dev/pts", c.mounts().get(2).destination());
    assertTrue(c.mounts().get(5).options().readonly());
    assertEquals("mode=755,size=65536k", c.mounts().get(1).options().data());
    assertEquals(Map.of("org.example.test", "yes"), c.annotations());
    int all = SpecValidator.CLONE_NEWPID | SpecValidator.CLONE_NEWNET | SpecValidator.CLONE_NEWIPC
        | SpecValidator.CLONE_NEWUTS | SpecValidator.CLONE_NEWNS | SpecValidator.CLONE_NEWCGROUP;
    assertEquals(all, c.unshareFlags());
  }

  @Test
  void mountTargetThroughASymlinkIsResolvedInsideTheRoot() {
    String json = TestRootfs.json("true").replace("\"destination\": \"/tmp\"", "\"destination\": \"/escape/tmp\"");
    assertEquals("/tmp", validate(json).mounts().get(6).destination());
    json = TestRootfs.json("true").replace("\"destination\": \"/tmp\"", "\"destination\": \"/up/etc\"");
    assertEquals("/etc", validate(json).mounts().get(6).destination());
  }

  static Stream<Arguments> hostile() {
    String base = TestRootfs.json("sh", "-c", "true");
    return Stream.of(
        Arguments.of("mount target with ..", base.replace("\"/tmp\"", "\"/../../etc\""), "mounts[6].destination"),
        Arguments.of("relative mount target", base.replace("\"/tmp\"", "\"tmp\""), "mounts[6].destination"),
        Arguments.of("mount over the root via symlink", base.replace("\"/tmp\"", "\"/escape\""), "mounts[6].destination"),
        Arguments.of("bind source with ..",
            base.replace("{\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"",
                "{\"destination\": \"/tmp\", \"type\": \"bind\", \"source\": \"rootfs/../../etc\""), "mounts[6].source"),
        Arguments.of("root path with ..", base.replace("\"path\": \"rootfs\"", "\"path\": \"../rootfs\""), "root.path"),
        Arguments.of("root path is host /", base.replace("\"path\": \"rootfs\"", "\"path\": \"/\""), "root.path"),
        Arguments.of("root path missing", base.replace("\"path\": \"rootfs\"", "\"path\": \"nope\""), "root.path"),
        Arguments.of("masked path with ..", base.replace("\"/proc/keys\"", "\"/proc/../../keys\""), "linux.maskedPaths[2]"),
        Arguments.of("readonly path relative", base.replace("\"/proc/sys\"", "\"proc/sys\""), "linux.readonlyPaths[0]"),
        Arguments.of("env without =", base.replace("\"TERM=xterm\"", "\"TERM\""), "process.env[1]"),
        Arguments.of("env with empty key", base.replace("\"TERM=xterm\"", "\"=x\""), "process.env[1]"),
        Arguments.of("env with NUL", base.replace("\"TERM=xterm\"", "\"TERM=x\\u0000y\""), "process.env[1]"),
        Arguments.of("arg with NUL", base.replace("\"true\"", "\"tr\\u0000ue\""), "process.args[2]"),
        Arguments.of("empty args", TestRootfs.json(List.of(), Map.of()), "process.args"),
        Arguments.of("empty argv[0]", TestRootfs.json(""), "process.args[0]"),
        Arguments.of("cwd relative", base.replace("\"cwd\": \"/\"", "\"cwd\": \"tmp\""), "process.cwd"),
        Arguments.of("unknown rlimit", TestRootfs.json(List.of("true"),
            Map.of("process", "\"rlimits\": [{\"type\": \"RLIMIT_BOGUS\", \"soft\": 1, \"hard\": 1}],")), "process.rlimits[0]"),
        Arguments.of("rlimit soft above hard", TestRootfs.json(List.of("true"),
            Map.of("process", "\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 9, \"hard\": 1}],")), "process.rlimits[0]"),
        Arguments.of("unknown capability", TestRootfs.json(List.of("true"),
            Map.of("process", "\"capabilities\": {\"bounding\": [\"CAP_EVERYTHING\"]},")), "process.capabilities.bounding"),
        Arguments.of("negative uid", TestRootfs.json(List.of("true"),
            Map.of("process", "\"user\": {\"uid\": -1, \"gid\": 0},")), "process.user.uid"),
        Arguments.of("user namespace", base.replace("{\"type\": \"pid\"}", "{\"type\": \"user\"}"), "linux.namespaces[0]"),
        Arguments.of("unknown namespace", base.replace("{\"type\": \"pid\"}", "{\"type\": \"time\"}"), "linux.namespaces[0]"),
        Arguments.of("no mount namespace", base.replace("{\"type\": \"mount\"}, ", ""), "linux.namespaces"),
        Arguments.of("bad hostname", base.replace("\"box\"", "\"a/b\""), "hostname"),
        Arguments.of("unsupported mount type", base.replace("\"type\": \"mqueue\"", "\"type\": \"ext4\""), "mounts[4].type"),
        Arguments.of("mount option with NUL", base.replace("\"mode=1777\"", "\"mode=1777\\u0000\""), "mounts[3].options"),
        Arguments.of("pids limit zero", TestRootfs.json(List.of("true"),
            Map.of("linux", ", \"resources\": {\"pids\": {\"limit\": 0}}")), "linux.resources.pids.limit"),
        Arguments.of("not JSON", "{\"process\": ", "config.json"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostile")
  void hostileInputIsRefusedBeforeAnySideEffect(String name, String json, String field) throws IOException {
    List<String> before = tree();
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> validate(json));
    assertEquals(field, e.field(), e.getMessage());
    assertFalse(e.getMessage().isBlank());
    assertEquals(before, tree(), "validation must not touch the bundle");
  }

  @Test
  void oversizedConfigIsRefusedUnread() throws IOException {
    byte[] big = new byte[ContainerLimits.MAX_CONFIG_BYTES + 1];
    java.util.Arrays.fill(big, (byte) ' ');
    Path f = bundle.resolve("config.json");
    Files.write(f, big);
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> OciSpec.read(f));
    assertTrue(e.getMessage().contains("MAX_CONFIG_BYTES"), e.getMessage());
  }

  @Test
  void tooManyEnvEntriesAreRefused() {
    StringBuilder env = new StringBuilder();
    for (int i = 0; i <= ContainerLimits.MAX_ENV; i++) {
      env.append(i == 0 ? "" : ",").append("\"K").append(i).append("=v\"");
    }
    String json = TestRootfs.json("true").replace("\"env\": [\"PATH=/bin\", \"TERM=xterm\"]", "\"env\": [" + env + "]");
    InvalidSpecException e = assertThrows(InvalidSpecException.class, () -> validate(json));
    assertEquals("process.env", e.field());
  }

  @Test
  void bundleOnDisk() throws IOException {
    Files.writeString(bundle.resolve("config.json"), TestRootfs.json("echo", "hi"));
    assertEquals(List.of("echo", "hi"), SpecValidator.loadBundle(bundle).process().args());
  }

  @Test
  void unknownFieldsAreIgnored() {
    String json = TestRootfs.json("true").replace("\"ociVersion\": \"1.0.2\",",
        "\"ociVersion\": \"1.0.2\", \"vm\": {\"hypervisor\": {}}, \"solaris\": 3,");
    assertEquals(List.of("true"), validate(json).process().args());
  }

  private List<String> tree() throws IOException {
    try (Stream<Path> s = Files.walk(bundle)) {
      return s.map(p -> bundle.relativize(p) + ":" + p.toFile().lastModified()).sorted().toList();
    }
  }
}

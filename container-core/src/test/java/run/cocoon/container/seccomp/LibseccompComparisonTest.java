package run.cocoon.container.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import run.cocoon.container.Capabilities;
import run.cocoon.container.seccomp.BpfInterpreter.SeccompData;

/**
 * Our compiled programs against libseccomp's for the same profiles: both run in
 * {@link BpfInterpreter} on the same {@code seccomp_data} (every call number of every ABI, and
 * the arguments around every value a rule compares with) and must give the same verdicts.
 */
class LibseccompComparisonTest {
  private static final Path HEADER = Path.of("/usr/include/seccomp.h");
  private static final int AARCH64 = 0xC000_00B7;
  private static final Map<String, Integer> OPS = Map.of("SCMP_CMP_NE", 1, "SCMP_CMP_LT", 2,
      "SCMP_CMP_LE", 3, "SCMP_CMP_EQ", 4, "SCMP_CMP_GE", 5, "SCMP_CMP_GT", 6,
      "SCMP_CMP_MASKED_EQ", 7);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path checker;

  @BeforeAll
  static void buildChecker() throws IOException, InterruptedException, URISyntaxException {
    assumeTrue(Files.exists(HEADER), "skipped: " + HEADER + " is absent (apt-get install libseccomp-dev)");
    Path source = Path.of(LibseccompComparisonTest.class.getResource("/seccomp/libseccomp-export.c").toURI());
    checker = source.resolveSibling("libseccomp-export");
    Process gcc = new ProcessBuilder("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
        checker.toString(), source.toString(), "-lseccomp").inheritIO().start();
    assertEquals(0, gcc.waitFor(), "gcc failed");
  }

  /** libseccomp's program for {@code profile}, through the checker's rule lines. */
  private static long[] libseccomp(SeccompProfile p) throws IOException, InterruptedException {
    StringBuilder in = new StringBuilder();
    in.append("default ").append(Integer.toUnsignedString(
        SeccompAction.named(p.defaultAction(), "").returnValue(p.defaultErrnoRet(), ""))).append('\n');
    in.append("badarch ").append(Integer.toUnsignedString(
        SeccompCompiler.BAD_ARCH_ACTION.returnValue(null, ""))).append('\n');
    for (String a : p.architectures()) {
      switch (a) {
        case "SCMP_ARCH_X86" -> in.append("arch x86\n");
        case "SCMP_ARCH_X32" -> in.append("arch x32\n");
        default -> { }
      }
    }
    for (SeccompProfile.Rule r : p.syscalls()) {
      int ret = SeccompAction.named(r.action(), "").returnValue(r.errnoRet(), "");
      for (String name : r.names()) {
        in.append("rule ").append(Integer.toUnsignedString(ret)).append(' ').append(name)
            .append(' ').append(r.args().size());
        for (SeccompProfile.Arg a : r.args()) {
          in.append(' ').append(a.index()).append(' ').append(OPS.get(a.op())).append(' ')
              .append(a.value()).append(' ').append(a.valueTwo() == null ? BigInteger.ZERO : a.valueTwo());
        }
        in.append('\n');
      }
    }
    Process p2 = new ProcessBuilder(checker.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    p2.getOutputStream().write(in.toString().getBytes(StandardCharsets.US_ASCII));
    p2.getOutputStream().close();
    byte[] out = p2.getInputStream().readAllBytes();
    assertTrue(p2.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p2.exitValue(), "the libseccomp checker failed");
    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    long[] program = new long[out.length / 8];
    for (int i = 0; i < program.length; i++) {
      program[i] = b.getLong();
    }
    return program;
  }

  /** Every number of every ABI (and a few no ABI has), with the rules' interesting arguments. */
  private static List<SeccompData> inputs(SeccompProfile p) {
    Set<Long> values = new TreeSet<>(List.of(0L, 1L, -1L, 0xffff_ffffL, 0x1_0000_0000L));
    for (SeccompProfile.Rule r : p.syscalls()) {
      for (SeccompProfile.Arg a : r.args()) {
        for (BigInteger v : new BigInteger[] {a.value(), a.valueTwo()}) {
          if (v != null) {
            long x = v.longValue();
            values.addAll(List.of(x, x - 1, x + 1, x ^ 0x1_0000_0000L, x | 0x8000_0000_0000_0000L,
                x & 0xffff_ffffL, ~x));
          }
        }
      }
    }
    List<SeccompData> out = new ArrayList<>();
    int[][] abis = {{Architecture.AUDIT_ARCH_X86_64, 0}, {Architecture.AUDIT_ARCH_X86_64, Architecture.X32_SYSCALL_BIT},
        {Architecture.AUDIT_ARCH_I386, 0}, {AARCH64, 0}};
    for (int[] abi : abis) {
      for (int nr = 0; nr < 560; nr++) {
        out.add(new SeccompData(abi[1] | nr, abi[0]));
      }
      out.add(new SeccompData(-1, abi[0]));
      out.add(new SeccompData(abi[1] | 0x3fff_ffff, abi[0]));
    }
    Set<String> conditional = new HashSet<>();
    p.syscalls().stream().filter(r -> !r.args().isEmpty()).forEach(r -> conditional.addAll(r.names()));
    for (String name : conditional) {
      for (Architecture a : Architecture.values()) {
        a.table().number(name).ifPresent(nr -> {
          for (int index = 0; index < 6; index++) {
            for (long v : values) {
              long[] args = new long[6];
              args[index] = v;
              out.add(new SeccompData(nr, a.auditArch, args));
              long[] pair = args.clone();
              pair[(index + 2) % 6] = v; // rules that compare two arguments
              out.add(new SeccompData(nr, a.auditArch, pair));
            }
          }
        });
      }
    }
    return out;
  }

  private static void compare(SeccompProfile profile) throws IOException, InterruptedException {
    long[] ours = SeccompCompiler.compile(profile).program();
    long[] theirs = libseccomp(profile);
    int checked = 0;
    for (SeccompData d : inputs(profile)) {
      int expected = BpfInterpreter.run(theirs, d);
      int actual = BpfInterpreter.run(ours, d);
      assertEquals(Integer.toHexString(expected), Integer.toHexString(actual), "verdict for nr "
          + Integer.toHexString(d.nr()) + " arch " + Integer.toHexString(d.arch()) + " args "
          + java.util.Arrays.toString(d.args()));
      checked++;
    }
    System.out.printf("%d inputs agree; %d instructions here, %d from libseccomp%n", checked,
        ours.length, theirs.length);
  }

  private static SeccompProfile parse(String json) {
    return SeccompProfile.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void podmansDefaultProfileForTheDefaultCapabilities() throws Exception {
    assumeTrue(Files.isRegularFile(PodmanTemplate.PATH), "skipped: " + PodmanTemplate.PATH + " is absent");
    compare(SeccompProfile.parse(PodmanTemplate.resolve(PodmanTemplate.PATH, new HashSet<>(Capabilities.DEFAULT))));
  }

  @Test
  void podmansDefaultProfileWithoutCapabilities() throws Exception {
    // Without CAP_AUDIT_WRITE socket() gets argument rules (NETLINK_AUDIT is refused).
    assumeTrue(Files.isRegularFile(PodmanTemplate.PATH), "skipped: " + PodmanTemplate.PATH + " is absent");
    JsonNode p = PodmanTemplate.resolve(PodmanTemplate.PATH, Set.of());
    ((com.fasterxml.jackson.databind.node.ObjectNode) p).putArray("architectures").add("SCMP_ARCH_X86_64");
    compare(SeccompProfile.parse(p));
  }

  @Test
  void ourDefaultProfile() throws Exception {
    compare(SeccompProfile.parse(DefaultSeccompProfile.json()));
  }

  @Test
  void everyComparisonOnBothHalves() throws Exception {
    compare(parse("""
        {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
         "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
         "syscalls": [
           {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
           {"names": ["personality"], "action": "SCMP_ACT_LOG",
            "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
           {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS",
            "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GT"}]},
           {"names": ["rmdir"], "action": "SCMP_ACT_TRAP",
            "args": [{"index": 2, "value": 4294967297, "op": "SCMP_CMP_GE"}]},
           {"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 3, "value": 12884901888, "op": "SCMP_CMP_LT"}]},
           {"names": ["getppid"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 4, "value": 12884901889, "op": "SCMP_CMP_LE"}]},
           {"names": ["dup"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 5, "value": 9223372036854775808, "op": "SCMP_CMP_NE"}]},
           {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
            "args": [{"index": 2, "value": 18446744069414584384, "valueTwo": 4294967360,
                      "op": "SCMP_CMP_MASKED_EQ"}]},
           {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GT"},
                     {"index": 2, "value": 100, "op": "SCMP_CMP_LT"}]},
           {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 7}]}"""));
  }

  @Test
  void aNativeOnlyProfileKillsEveryOtherAbi() throws Exception {
    compare(parse("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["mkdir", "_llseek", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]}"""));
  }
}

package run.cocoon.container.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import run.cocoon.container.seccomp.BpfInterpreter.SeccompData;

class SeccompCompilerTest {
  private static final int X86_64 = Architecture.AUDIT_ARCH_X86_64;
  private static final int I386 = Architecture.AUDIT_ARCH_I386;
  private static final int ALLOW = 0x7fff_0000;
  private static final int KILL_PROCESS = 0x8000_0000;
  private static final int MKDIR = 83;
  private static final int PERSONALITY = 135;
  private static final int OPENAT = 257;
  private static final int GETPID = 39;

  static SeccompFilter compile(String json) {
    return SeccompCompiler.compile(SeccompProfile.parse(json.getBytes(StandardCharsets.UTF_8)));
  }

  private static String refusal(String json) {
    return assertThrows(SeccompException.class, () -> compile(json)).getMessage();
  }

  private static int verdict(SeccompFilter f, int arch, int nr, long... args) {
    return BpfInterpreter.run(f.program(), new SeccompData(nr, arch, args));
  }

  @Test
  void defaultActionAndErrnoRet() {
    SeccompFilter f = compile("""
        {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
         "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]}""");
    assertEquals(ALLOW, verdict(f, X86_64, GETPID));
    assertEquals(0x0005_0026, verdict(f, X86_64, MKDIR));
    SeccompFilter eperm = compile("{\"defaultAction\": \"SCMP_ACT_ERRNO\"}");
    assertEquals(0x0005_0001, verdict(eperm, X86_64, GETPID), "ERRNO without errnoRet is EPERM");
  }

  @Test
  void everyActionHasTheKernelsReturnValue() {
    String[][] actions = {{"SCMP_ACT_KILL", "0"}, {"SCMP_ACT_KILL_THREAD", "0"},
        {"SCMP_ACT_KILL_PROCESS", "80000000"}, {"SCMP_ACT_TRAP", "30000"},
        {"SCMP_ACT_TRACE", "7ff00001"}, {"SCMP_ACT_LOG", "7ffc0000"}, {"SCMP_ACT_ALLOW", "7fff0000"}};
    for (String[] a : actions) {
      SeccompFilter f = compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\":"
          + " [\"mkdir\"], \"action\": \"" + a[0] + "\"}]}");
      assertEquals(Integer.parseUnsignedInt(a[1], 16), verdict(f, X86_64, MKDIR), a[0]);
    }
  }

  @Test
  void foreignArchitecturesAreKilledUnlessListed() {
    SeccompFilter nativeOnly = compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}");
    assertEquals(KILL_PROCESS, verdict(nativeOnly, I386, 20));
    assertEquals(KILL_PROCESS, verdict(nativeOnly, X86_64, Architecture.X32_SYSCALL_BIT | GETPID));
    assertEquals(KILL_PROCESS, verdict(nativeOnly, 0xC000_00B7 /* aarch64 */, GETPID));
    assertEquals(ALLOW, verdict(nativeOnly, X86_64, GETPID));
    assertEquals(ALLOW, verdict(nativeOnly, X86_64, -1), "no call (a tracer's skip): the default");

    SeccompFilter all = compile("""
        {"defaultAction": "SCMP_ACT_ERRNO",
         "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
         "syscalls": [{"names": ["mkdir", "_llseek"], "action": "SCMP_ACT_ALLOW"}]}""");
    assertEquals(ALLOW, verdict(all, X86_64, MKDIR));
    assertEquals(ALLOW, verdict(all, X86_64, Architecture.X32_SYSCALL_BIT | MKDIR));
    assertEquals(ALLOW, verdict(all, I386, 39), "i386 mkdir is 39");
    assertEquals(ALLOW, verdict(all, I386, 140), "i386 _llseek is 140");
    assertEquals(0x0005_0001, verdict(all, I386, 20), "i386 getpid is not allowed");
    assertEquals(0x0005_0001, verdict(all, X86_64, 140), "x86-64 has no _llseek; 140 is getpriority");
    assertEquals(KILL_PROCESS, verdict(all, 0xC000_00B7, MKDIR), "listed but never native here");
  }

  @Test
  void argumentsAreComparedAsUnsigned64BitNumbers() {
    SeccompFilter f = compile("""
        {"defaultAction": "SCMP_ACT_ERRNO",
         "syscalls": [
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
           {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]},
           {"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GT"}]},
           {"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 5, "value": 4294967296, "op": "SCMP_CMP_LE"},
                     {"index": 5, "value": 7, "op": "SCMP_CMP_NE"}]}]}""");
    assertEquals(ALLOW, verdict(f, X86_64, PERSONALITY, 8));
    assertEquals(0x0005_0001, verdict(f, X86_64, PERSONALITY, 0x1_0000_0008L), "high half differs");
    assertEquals(ALLOW, verdict(f, X86_64, PERSONALITY, -1L));
    assertEquals(0x0005_0001, verdict(f, X86_64, PERSONALITY, 0xffff_ffffL));
    assertEquals(0x0005_0001, verdict(f, X86_64, MKDIR, 0, 0x1_0000_0000L));
    assertEquals(ALLOW, verdict(f, X86_64, MKDIR, 0, 0x1_0000_0001L));
    assertEquals(ALLOW, verdict(f, X86_64, MKDIR, 0, 0x2_0000_0000L));
    assertEquals(0x0005_0001, verdict(f, X86_64, MKDIR, 0, 0xffff_ffffL));
    assertEquals(ALLOW, verdict(f, X86_64, GETPID, 0, 0, 0, 0, 0, 0x1_0000_0000L));
    assertEquals(0x0005_0001, verdict(f, X86_64, GETPID, 0, 0, 0, 0, 0, 0x1_0000_0001L));
    assertEquals(0x0005_0001, verdict(f, X86_64, GETPID, 0, 0, 0, 0, 0, 7));
    assertEquals(ALLOW, verdict(f, X86_64, GETPID, 0, 0, 0, 0, 0, 8));
  }

  @Test
  void maskedEqualityTestsTheMaskedBitsOnly() {
    // openat with O_CREAT (0100) refused; value is the mask, valueTwo the datum.
    SeccompFilter f = compile("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
           "args": [{"index": 2, "value": 64, "valueTwo": 64, "op": "SCMP_CMP_MASKED_EQ"}]}]}""");
    assertEquals(0x0005_000d, verdict(f, X86_64, OPENAT, -100, 0, 0101));
    assertEquals(0x0005_000d, verdict(f, X86_64, OPENAT, -100, 0, 0x1_0000_0040L));
    assertEquals(ALLOW, verdict(f, X86_64, OPENAT, -100, 0, 01));
  }

  @Test
  void theFirstRuleWhoseConditionsHoldDecides() {
    SeccompFilter f = compile("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [
           {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2,
            "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]},
           {"names": ["mkdir", "mkdir"], "action": "SCMP_ACT_KILL_PROCESS"},
           {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}""");
    assertEquals(0x0005_0002, verdict(f, X86_64, MKDIR, 0, 448));
    assertEquals(KILL_PROCESS, verdict(f, X86_64, MKDIR, 0, 493));
  }

  @Test
  void unknownNamesAreSkippedButUnknownActionsAreErrors() {
    SeccompFilter f = compile("""
        {"defaultAction": "SCMP_ACT_ALLOW",
         "syscalls": [{"names": ["no_such_call", "mkdir"], "action": "SCMP_ACT_KILL"}]}""");
    assertEquals(0, verdict(f, X86_64, MKDIR));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
        + " \"action\": \"SCMP_ACT_EXPLODE\"}]}").contains("syscalls[0].action: unknown action 'SCMP_ACT_EXPLODE'"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_NOPE\"}").contains("defaultAction"));
    assertTrue(refusal("{}").contains("defaultAction is missing"));
  }

  @Test
  void notifyAndListenersAreRefused() {
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
        + " \"action\": \"SCMP_ACT_NOTIFY\"}]}").contains("SCMP_ACT_NOTIFY is not supported"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\"}")
        .contains("listenerPath"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerMetadata\": \"x\"}")
        .contains("listenerPath"));
    assertEquals(compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}"),
        compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"\"}"), "empty: no listener");
  }

  @Test
  void parseErrorsNameTheProblem() {
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscals\": []}").contains("syscals"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
        + " \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {}}]}").contains("includes"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [],"
        + " \"action\": \"SCMP_ACT_ALLOW\"}]}").contains("syscalls[0].names is empty"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}")
        .contains("unknown architecture 'SCMP_ARCH_VAX'"));
    assertTrue(refusal(rule("{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}")).contains("index must be 0..5"));
    assertTrue(refusal(rule("{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ALMOST\"}")).contains("unknown operator"));
    assertTrue(refusal(rule("{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}")).contains("value is missing"));
    assertTrue(refusal(rule("{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}")).contains("unsigned 64-bit"));
    assertTrue(refusal(rule("{\"index\": 0, \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}"))
        .contains("unsigned 64-bit"));
    assertTrue(refusal(rule("{\"index\": 0, \"value\": 1, \"valueTwo\": 2, \"op\": \"SCMP_CMP_EQ\"}"))
        .contains("valueTwo"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}").contains("errnoRet"));
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 65536}").contains("errnoRet"));
    assertThrows(SeccompException.class, () -> SeccompProfile.parse("[1]".getBytes(StandardCharsets.UTF_8)));
  }

  private static String rule(String arg) {
    return "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
        + " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [" + arg + "]}]}";
  }

  @Test
  void flagsArePassedThroughAndUnknownOnesRefused() {
    SeccompFilter f = compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\","
        + " \"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}");
    assertEquals(7, f.flags());
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}")
        .contains("SECCOMP_FILTER_FLAG_NEW_LISTENER"));
  }

  @Test
  void aProgramOverBpfMaxInsnsIsRefused() {
    StringBuilder rules = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      rules.append(i == 0 ? "" : ",").append("{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
          + " \"args\": [");
      for (int a = 0; a < 6; a++) {
        rules.append(a == 0 ? "" : ",").append("{\"index\": ").append(a).append(", \"value\": ")
            .append(i).append(", \"op\": \"SCMP_CMP_EQ\"}");
      }
      rules.append("]}");
    }
    String message = refusal("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [" + rules + "]}");
    assertTrue(message.contains("BPF_MAXINSNS (4096)"), message);
    assertTrue(refusal("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
        + " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [" + ("{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},")
        .repeat(6) + "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}").contains("MAX_CONDITIONS_PER_RULE"));
  }

  @Test
  void whatTheFeaturesListIsAccepted() {
    for (String action : SeccompFeatures.actions()) {
      compile("{\"defaultAction\": \"" + action + "\"}");
    }
    for (String op : SeccompFeatures.operators()) {
      compile(rule("{\"index\": 0, \"value\": 1, \"op\": \"" + op + "\"}"));
    }
    for (String arch : SeccompFeatures.architectures()) {
      compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"" + arch + "\"]}");
    }
    for (String flag : SeccompFeatures.flags()) {
      compile("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"" + flag + "\"]}");
    }
    assertTrue(!SeccompFeatures.actions().contains("SCMP_ACT_NOTIFY"));
  }
}

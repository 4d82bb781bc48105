package run.cocoon.container.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import run.cocoon.container.Capabilities;
import run.cocoon.container.seccomp.BpfInterpreter.SeccompData;

/**
 * Our default profile against Podman's, resolved for the same (default) capabilities: the same
 * verdict for every call number of every x86 ABI, and for the calls with argument rules, the
 * values those rules name and their neighbours.
 */
class DefaultSeccompProfileTest {
  @Test
  void equalInEffectToPodmansDefault() throws Exception {
    assumeTrue(Files.isRegularFile(PodmanTemplate.PATH), "skipped: " + PodmanTemplate.PATH
        + " (containers-common) is absent");
    long[] ours = SeccompCompiler.compile(SeccompProfile.parse(DefaultSeccompProfile.json())).program();
    long[] podman = SeccompCompiler.compile(SeccompProfile.parse(
        PodmanTemplate.resolve(PodmanTemplate.PATH, new HashSet<>(Capabilities.DEFAULT)))).program();
    List<SeccompData> inputs = new java.util.ArrayList<>();
    int[][] abis = {{Architecture.AUDIT_ARCH_X86_64, 0},
        {Architecture.AUDIT_ARCH_X86_64, Architecture.X32_SYSCALL_BIT}, {Architecture.AUDIT_ARCH_I386, 0}};
    for (int[] abi : abis) {
      for (int nr = 0; nr < 1024; nr++) {
        inputs.add(new SeccompData(abi[1] | nr, abi[0]));
      }
    }
    Set<Long> values = new LinkedHashSet<>();
    for (long v : new long[] {0, 8, 0x20000, 0x20008, 0xffff_ffffL, 1, 9, 0x4_0000, -1}) {
      values.addAll(List.of(v, v + 1, v - 1, v | 1L << 32));
    }
    for (Architecture a : Architecture.values()) {
      int personality = a.table().number("personality").orElseThrow();
      int socket = a.table().number("socket").orElseThrow();
      for (long v : values) {
        inputs.add(new SeccompData(personality, a.auditArch, v));
        inputs.add(new SeccompData(socket, a.auditArch, 16, 3, v)); // AF_NETLINK, any protocol
      }
    }
    for (SeccompData d : inputs) {
      assertEquals(Integer.toHexString(BpfInterpreter.run(podman, d)),
          Integer.toHexString(BpfInterpreter.run(ours, d)),
          "nr " + Integer.toHexString(d.nr()) + " arch " + Integer.toHexString(d.arch()) + " args "
              + java.util.Arrays.toString(d.args()));
    }
    System.out.printf("%d inputs agree; the default profile compiles to %d instructions%n",
        inputs.size(), ours.length);
  }
}

package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KvmProbeTest {
  @TempDir Path root;

  private void tree(String flags, boolean devKvm, String... modules) throws IOException {
    Files.createDirectories(root.resolve("proc"));
    Files.writeString(root.resolve("proc/cpuinfo"), "processor\t: 0\nflags\t\t: fpu " + flags + " sse2\n");
    Files.createDirectories(root.resolve("dev"));
    if (devKvm) {
      Files.createFile(root.resolve("dev/kvm"));
    }
    for (String m : modules) {
      Files.createDirectories(root.resolve("sys/module").resolve(m));
    }
  }

  @Test
  void noDeviceIsAbsent() throws IOException {
    tree("hypervisor", false, "kvm", "kvm_pvm");
    KvmProbe.Verdict v = KvmProbe.probe(root, false);
    assertEquals(KvmProbe.Kind.ABSENT, v.kind());
    assertTrue(v.reason().contains("kvm_pvm"), v.reason());
  }

  @Test
  void pvmBackendIsSoftwareOnly() throws IOException {
    tree("hypervisor", true, "kvm", "kvm_pvm");
    assertEquals(KvmProbe.Kind.SOFTWARE_ONLY, KvmProbe.probe(root, false).kind());
  }

  @Test
  void pvmWinsEvenWithVmxFlags() throws IOException {
    tree("vmx", true, "kvm", "kvm_intel", "kvm_pvm");
    assertEquals(KvmProbe.Kind.SOFTWARE_ONLY, KvmProbe.probe(root, false).kind());
  }

  @Test
  void intelAndAmdAreHardware() throws IOException {
    tree("vmx", true, "kvm", "kvm_intel");
    KvmProbe.Verdict v = KvmProbe.probe(root, false);
    assertEquals(KvmProbe.Kind.HARDWARE, v.kind());
    assertTrue(v.reason().contains("VT-x"), v.reason());
    Files.delete(root.resolve("sys/module/kvm_intel"));
    tree("svm", false, "kvm_amd");
    v = KvmProbe.probe(root, true);
    assertEquals(KvmProbe.Kind.HARDWARE, v.kind());
    assertTrue(v.reason().contains("AMD-V") && v.reason().contains("nested test box"), v.reason());
  }

  @Test
  void unknownBackendIsNotTrusted() throws IOException {
    tree("", true, "kvm");
    assertEquals(KvmProbe.Kind.SOFTWARE_ONLY, KvmProbe.probe(root, false).kind());
  }

  @Test
  void thisHost() {
    // Report, not assert: the verdict depends on the machine.
    System.err.println("[report] this host: " + KvmProbe.get());
    System.err.println("[report] " + VmTestHost.get().describe());
  }

  @Test
  void overrides() {
    KvmProbe.Verdict sw = new KvmProbe.Verdict(KvmProbe.Kind.SOFTWARE_ONLY, "x");
    KvmProbe.Verdict hw = new KvmProbe.Verdict(KvmProbe.Kind.HARDWARE, "y");
    assertEquals(VmTestHost.Where.BOX, VmTestHost.decide(sw, null).where());
    assertEquals(VmTestHost.Where.DIRECT, VmTestHost.decide(hw, null).where());
    assertEquals(VmTestHost.Where.DIRECT, VmTestHost.decide(sw, "direct").where());
    assertEquals(VmTestHost.Where.BOX, VmTestHost.decide(hw, "BOX").where());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VmTestHost.decide(hw, "maybe"));
    assertTrue(e.getMessage().contains("'direct' or 'box'"));
  }
}

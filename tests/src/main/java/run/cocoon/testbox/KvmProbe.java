package run.cocoon.testbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Decides, once per JVM, whether this host's {@code /dev/kvm} can boot Linux at hardware speed.
 *
 * <p>Detection reads only the file system, so it is cheap and needs no KVM binding: the device
 * node, the loaded KVM modules in {@code /sys/module} and the CPU flags in {@code /proc/cpuinfo}.
 * A software backend such as {@code kvm_pvm} offers the same ioctls but emulates every kernel-mode
 * instruction (about 1700x slower, and Linux dies early in boot), so it is not good enough.
 */
public final class KvmProbe {

  public enum Kind {
    /** /dev/kvm is backed by VT-x or AMD-V: VM tests run directly. */
    HARDWARE,
    /** /dev/kvm exists, but its backend cannot boot Linux: VM tests run in the nested box. */
    SOFTWARE_ONLY,
    /** No usable /dev/kvm: VM tests run in the nested box. */
    ABSENT
  }

  /** The verdict with a human-readable reason. */
  public record Verdict(Kind kind, String reason) {
    public boolean bootsLinux() {
      return kind == Kind.HARDWARE;
    }

    @Override
    public String toString() {
      return kind + ": " + reason;
    }
  }

  /** Backends that implement the KVM API without hardware virtualization. */
  private static final List<String> SOFTWARE_BACKENDS = List.of("kvm_pvm");

  private static volatile Verdict cached;

  private KvmProbe() {}

  /** This host's verdict, computed on first use. */
  public static Verdict get() {
    Verdict v = cached;
    if (v == null) {
      synchronized (KvmProbe.class) {
        v = cached;
        if (v == null) {
          v = probe(Path.of("/"), "1".equals(System.getenv("COCOON_IN_BOX")));
          cached = v;
        }
      }
    }
    return v;
  }

  /** The verdict for the system whose root is {@code root} (a fake tree in tests). */
  static Verdict probe(Path root, boolean insideBox) {
    Path dev = root.resolve("dev/kvm");
    Path modules = root.resolve("sys/module");
    Set<String> flags = cpuFlags(root.resolve("proc/cpuinfo"));
    String software = SOFTWARE_BACKENDS.stream()
        .filter(m -> Files.isDirectory(modules.resolve(m))).findFirst().orElse(null);

    if (!Files.exists(dev)) {
      return new Verdict(Kind.ABSENT, "no /dev/kvm"
          + (software != null ? " (module " + software + " is loaded but did not bind: this kernel is itself"
              + " a guest of a software KVM backend)" : "")
          + (flags.contains("vmx") || flags.contains("svm")
              ? "; the CPU has " + (flags.contains("vmx") ? "vmx" : "svm") + ": load kvm_intel/kvm_amd"
              : "; the CPU offers neither vmx nor svm"));
    }
    if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
      return new Verdict(Kind.ABSENT, "/dev/kvm exists but this user cannot open it read-write;"
          + " add the user to the kvm group or run as root");
    }
    if (software != null) {
      return new Verdict(Kind.SOFTWARE_ONLY, "/dev/kvm is served by " + software
          + ", a software backend: kernel-mode guest code is instruction-emulated and Linux does not boot");
    }
    String where = insideBox ? " (inside the nested test box: SVM emulated by QEMU TCG, slow but real KVM)" : "";
    if (flags.contains("vmx") && Files.isDirectory(modules.resolve("kvm_intel"))) {
      return new Verdict(Kind.HARDWARE, "/dev/kvm is backed by Intel VT-x (kvm_intel)" + where);
    }
    if (flags.contains("svm") && Files.isDirectory(modules.resolve("kvm_amd"))) {
      return new Verdict(Kind.HARDWARE, "/dev/kvm is backed by AMD-V (kvm_amd)" + where);
    }
    return new Verdict(Kind.SOFTWARE_ONLY, "/dev/kvm exists but neither kvm_intel with a vmx CPU nor kvm_amd"
        + " with an svm CPU is present (cpu flags vmx=" + flags.contains("vmx") + " svm=" + flags.contains("svm")
        + "); assuming a backend that cannot boot Linux");
  }

  private static Set<String> cpuFlags(Path cpuinfo) {
    try {
      for (String line : Files.readAllLines(cpuinfo)) {
        if (line.startsWith("flags")) {
          int colon = line.indexOf(':');
          return new HashSet<>(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
        }
      }
    } catch (IOException e) {
      // No /proc/cpuinfo (odd container): no flags.
    }
    return Set.of();
  }
}

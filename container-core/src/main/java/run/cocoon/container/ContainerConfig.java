package run.cocoon.container;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import run.cocoon.container.seccomp.SeccompFilter;

/**
 * A validated, normalised container configuration: every path checked, every name turned into
 * a number. Made only by {@link SpecValidator}; the plan builder trusts it. {@code seccomp} is the
 * compiled {@code linux.seccomp} filter, null when the spec has none.
 */
public record ContainerConfig(
    Path rootfs,
    boolean readonlyRoot,
    String hostname,
    List<MountSpec> mounts,
    int unshareFlags,
    List<NamespaceJoin> joins,
    List<String> maskedPaths,
    List<String> readonlyPaths,
    ProcessConfig process,
    Resources resources,
    Map<String, String> annotations,
    SeccompFilter seccomp) {

  /** A mount: container destination (normalised, absolute), type, source, parsed options. */
  public record MountSpec(String destination, String type, String source, MountOptions options) {}

  /** An existing namespace to join by path (e.g. a network namespace prepared by the caller). */
  public record NamespaceJoin(String path, int cloneFlag) {}

  /** Resource limits; null means "leave as is". */
  public record Resources(Long memoryLimit, Long memorySwap, Long pidsLimit, Long cpuShares,
      Long cpuQuota, Long cpuPeriod) {
    public static final Resources NONE = new Resources(null, null, null, null, null, null);
  }

  /** The process to run, with names resolved to numbers. */
  public record ProcessConfig(
      List<String> args,
      List<String> env,
      String cwd,
      long uid,
      long gid,
      List<Long> additionalGids,
      List<Rlimit> rlimits,
      Capabilities.Sets capabilities,
      boolean noNewPrivileges,
      boolean terminal) {
    /** PATH from env (the container's search path for a bare command name). */
    public String searchPath() {
      for (String e : env) {
        if (e.startsWith("PATH=")) {
          return e.substring(5);
        }
      }
      return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    }
  }

  public record Rlimit(int resource, long soft, long hard) {}
}

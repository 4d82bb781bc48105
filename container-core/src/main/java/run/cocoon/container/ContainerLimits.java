package run.cocoon.container;

/** Every bound the container library enforces on untrusted input. Listed in docs/limits.md. */
public final class ContainerLimits {
  /** Largest config.json read. */
  public static final int MAX_CONFIG_BYTES = 1024 * 1024;
  /**
   * Deepest nesting of arrays and objects in config.json. A real config nests about six deep
   * (a seccomp rule's argument); jackson's own default is 1000.
   */
  public static final int MAX_CONFIG_NESTING = 64;
  /** Digits of one number in config.json (a 64-bit value has at most 20). */
  public static final int MAX_CONFIG_NUMBER_DIGITS = 32;
  /** Longest container id (grammar in {@link ContainerId}). */
  public static final int MAX_ID_LENGTH = 128;
  /** process.args entries. */
  public static final int MAX_ARGS = 4096;
  /** process.env entries. */
  public static final int MAX_ENV = 4096;
  /** Bytes of one arg or env entry. */
  public static final int MAX_STRING_BYTES = 128 * 1024;
  /** mounts entries. */
  public static final int MAX_MOUNTS = 256;
  /** maskedPaths and readonlyPaths entries, each. */
  public static final int MAX_PATH_LIST = 256;
  /** Bytes of a path (mount source/destination, cwd, masked or read-only path). */
  public static final int MAX_PATH_BYTES = 4096;
  /** process.user.additionalGids entries (the helper's per-record number limit is 128). */
  public static final int MAX_ADDITIONAL_GIDS = 64;
  /** process.rlimits entries. */
  public static final int MAX_RLIMITS = 32;
  /** Symlinks followed while resolving one path inside the rootfs (like the kernel's 40). */
  public static final int MAX_SYMLINKS = 40;
  /** Bytes of the hostname. */
  public static final int MAX_HOSTNAME_BYTES = 64;
  /** annotations entries. */
  public static final int MAX_ANNOTATIONS = 256;
  /** Largest encoded spawn plan; the helper enforces the same number. */
  public static final int MAX_PLAN_BYTES = 4 * 1024 * 1024;

  private ContainerLimits() {}
}

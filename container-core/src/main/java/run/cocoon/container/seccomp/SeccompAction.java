package run.cocoon.container.seccomp;

/**
 * A seccomp action by its OCI name, with the filter return value the kernel knows it by
 * ({@code SECCOMP_RET_*} in {@code <linux/seccomp.h>}). SCMP_ACT_NOTIFY is not here: a user
 * notification needs a listener the runtime does not provide, so it is refused.
 */
public enum SeccompAction {
  SCMP_ACT_KILL(0x0000_0000, false),
  SCMP_ACT_KILL_THREAD(0x0000_0000, false),
  SCMP_ACT_KILL_PROCESS(0x8000_0000, false),
  SCMP_ACT_TRAP(0x0003_0000, false),
  SCMP_ACT_ERRNO(0x0005_0000, true),
  SCMP_ACT_TRACE(0x7ff0_0000, true),
  SCMP_ACT_LOG(0x7ffc_0000, false),
  SCMP_ACT_ALLOW(0x7fff_0000, false);

  /** EPERM: the errno (or trace message) of ERRNO and TRACE when the profile names none. */
  public static final int DEFAULT_ERRNO = 1;
  /** The largest errnoRet a filter return value can carry (its 16 data bits). */
  public static final long MAX_ERRNO_RET = 0xffff;

  private final int base;
  private final boolean takesData;

  SeccompAction(int base, boolean takesData) {
    this.base = base;
    this.takesData = takesData;
  }

  /** The filter's return value for this action with {@code errnoRet} (null: the default). */
  public int returnValue(Long errnoRet, String field) {
    if (!takesData) {
      if (errnoRet != null) {
        throw new SeccompException(field + ": errnoRet is only meaningful with SCMP_ACT_ERRNO"
            + " or SCMP_ACT_TRACE, not " + name());
      }
      return base;
    }
    long data = errnoRet == null ? DEFAULT_ERRNO : errnoRet;
    if (data < 0 || data > MAX_ERRNO_RET) {
      throw new SeccompException(field + ": errnoRet " + data + " is outside 0.." + MAX_ERRNO_RET);
    }
    return base | (int) data;
  }

  /** The action named {@code name}; NOTIFY and unknown names are errors. */
  public static SeccompAction named(String name, String field) {
    if (name == null) {
      throw new SeccompException(field + " is missing");
    }
    if (name.equals("SCMP_ACT_NOTIFY")) {
      throw new SeccompException(field + ": SCMP_ACT_NOTIFY is not supported (cocoon has no"
          + " seccomp listener)");
    }
    for (SeccompAction a : values()) {
      if (a.name().equals(name)) {
        return a;
      }
    }
    throw new SeccompException(field + ": unknown action '" + name + "'");
  }
}

package run.cocoon.agent.guest;

/** The errno values the agent acts on, with their names for messages. Checked against the headers. */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int ESRCH = 3;
  public static final int EINTR = 4;
  public static final int ECHILD = 10;
  public static final int EAGAIN = 11;
  public static final int EACCES = 13;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int EPIPE = 32;
  public static final int EAFNOSUPPORT = 97;
  public static final int EADDRINUSE = 98;
  public static final int EADDRNOTAVAIL = 99;
  public static final int ENETUNREACH = 101;
  public static final int ECONNABORTED = 103;
  public static final int ECONNRESET = 104;
  public static final int EISCONN = 106;
  public static final int ENOTCONN = 107;
  public static final int ETIMEDOUT = 110;
  public static final int ECONNREFUSED = 111;
  public static final int EHOSTUNREACH = 113;
  public static final int EALREADY = 114;
  public static final int EINPROGRESS = 115;

  private Errno() {}

  /** The symbolic name, e.g. {@code "ECHILD"}, or {@code "errno 123"} for values not listed. */
  public static String name(int errno) {
    for (var f : Errno.class.getFields()) {
      try {
        if (f.getInt(null) == errno) {
          return f.getName();
        }
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      }
    }
    return "errno " + errno;
  }
}

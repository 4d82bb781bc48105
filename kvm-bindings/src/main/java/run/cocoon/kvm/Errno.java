package run.cocoon.kvm;

/** Linux x86_64 errno values the VMM reacts to, and names for messages. */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int ENXIO = 6;
  public static final int E2BIG = 7;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EFAULT = 14;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int EMFILE = 24;
  public static final int ENOTTY = 25;
  public static final int ENOSPC = 28;
  public static final int ERANGE = 34;
  public static final int ENOSYS = 38;
  public static final int EOPNOTSUPP = 95;

  private Errno() {}

  /** The symbolic name, or {@code "errno N"}. */
  public static String name(int errno) {
    return switch (errno) {
      case EPERM -> "EPERM";
      case ENOENT -> "ENOENT";
      case EINTR -> "EINTR";
      case EIO -> "EIO";
      case ENXIO -> "ENXIO";
      case E2BIG -> "E2BIG";
      case EBADF -> "EBADF";
      case EAGAIN -> "EAGAIN";
      case ENOMEM -> "ENOMEM";
      case EACCES -> "EACCES";
      case EFAULT -> "EFAULT";
      case EBUSY -> "EBUSY";
      case EEXIST -> "EEXIST";
      case ENODEV -> "ENODEV";
      case EINVAL -> "EINVAL";
      case EMFILE -> "EMFILE";
      case ENOTTY -> "ENOTTY";
      case ENOSPC -> "ENOSPC";
      case ERANGE -> "ERANGE";
      case ENOSYS -> "ENOSYS";
      case EOPNOTSUPP -> "EOPNOTSUPP";
      default -> "errno " + errno;
    };
  }

  /** Name plus a short explanation, for exception messages. */
  public static String describe(int errno) {
    String what = switch (errno) {
      case EPERM -> "operation not permitted";
      case ENOENT -> "no such file or directory";
      case EINTR -> "interrupted by a signal";
      case EBADF -> "bad file descriptor";
      case EAGAIN -> "resource temporarily unavailable";
      case ENOMEM -> "out of memory";
      case EACCES -> "permission denied";
      case EFAULT -> "bad address";
      case EBUSY -> "device or resource busy";
      case EEXIST -> "already exists";
      case EINVAL -> "invalid argument";
      case EMFILE -> "too many open files";
      case ENOTTY -> "inappropriate ioctl for this file descriptor";
      case ENOSPC -> "no space left";
      case ENOSYS -> "function not implemented";
      default -> null;
    };
    return what == null ? name(errno) : name(errno) + ", " + what;
  }
}

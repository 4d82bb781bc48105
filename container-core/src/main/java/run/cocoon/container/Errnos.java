package run.cocoon.container;

import java.util.Map;

/** Symbolic names for the errno values container setup meets. */
final class Errnos {
  private static final Map<Integer, String> NAMES = Map.ofEntries(
      Map.entry(1, "EPERM"), Map.entry(2, "ENOENT"), Map.entry(3, "ESRCH"), Map.entry(4, "EINTR"),
      Map.entry(5, "EIO"), Map.entry(7, "E2BIG"), Map.entry(8, "ENOEXEC"), Map.entry(9, "EBADF"),
      Map.entry(10, "ECHILD"), Map.entry(11, "EAGAIN"), Map.entry(12, "ENOMEM"),
      Map.entry(13, "EACCES"), Map.entry(16, "EBUSY"), Map.entry(17, "EEXIST"),
      Map.entry(18, "EXDEV"), Map.entry(20, "ENOTDIR"), Map.entry(21, "EISDIR"),
      Map.entry(22, "EINVAL"), Map.entry(24, "EMFILE"), Map.entry(28, "ENOSPC"),
      Map.entry(30, "EROFS"), Map.entry(36, "ENAMETOOLONG"), Map.entry(38, "ENOSYS"),
      Map.entry(40, "ELOOP"), Map.entry(125, "ECANCELED"));

  private Errnos() {}

  static String name(int errno) {
    return NAMES.getOrDefault(errno, "errno " + errno);
  }

  static String describe(int errno) {
    return name(errno) + " (" + errno + ")";
  }
}

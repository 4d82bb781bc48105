package run.cocoon.container;

import java.nio.file.Path;

/**
 * Mounts on the caller's own mount table, for a container's copy-on-write rootfs (an overlay of
 * an image's unpacked rootfs). Container mounts are not made here: they happen inside the
 * container's mount namespace (the helper).
 */
public final class HostMounts {
  private static final int MNT_DETACH = 2;
  private static final int EINVAL = 22;
  private static final int ENOENT = 2;

  private HostMounts() {}

  /**
   * Mounts an overlay at {@code target}: {@code lower} read-only below, writes to {@code upper}
   * ({@code work} is overlayfs's scratch directory on the same filesystem as upper).
   */
  public static void overlay(Path lower, Path upper, Path work, Path target) {
    String data = "lowerdir=" + option(lower) + ",upperdir=" + option(upper) + ",workdir="
        + option(work);
    Sys.mount("overlay", target.toString(), "overlay", 0, data);
  }

  /** overlayfs option values cannot carry these characters unescaped. */
  private static String option(Path p) {
    String s = p.toAbsolutePath().normalize().toString();
    if (s.contains(",") || s.contains(":") || s.contains("\\") || s.indexOf(0) >= 0) {
      throw new IllegalArgumentException("path not usable in overlay options: " + s);
    }
    return s;
  }

  /** Lazily unmounts {@code target}; false if nothing was mounted there. */
  public static boolean unmount(Path target) {
    int err = Sys.umount2(target.toString(), MNT_DETACH);
    if (err == 0) {
      return true;
    }
    if (err == EINVAL || err == ENOENT) {
      return false;
    }
    throw new NativeCallException("umount " + target, err);
  }
}

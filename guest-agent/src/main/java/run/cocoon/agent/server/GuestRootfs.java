package run.cocoon.agent.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import run.cocoon.agent.guest.GuestLibc;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;

/**
 * Container root filesystems from the guest's virtio disks: the disk is mounted (read-only when
 * asked) under {@code /run/cocoon/<id>/image}; with an overlay, a tmpfs holds the writable upper
 * layer and the container sees {@code /run/cocoon/<id>/rootfs}, so the image disk never changes.
 */
public final class GuestRootfs implements RootfsProvider {
  private static final System.Logger LOG = System.getLogger(GuestRootfs.class.getName());
  /** Where container filesystems are assembled (a tmpfs in the guest). */
  public static final Path BASE = Path.of("/run/cocoon");
  private static final long MS_RDONLY = 1;

  @Override
  public Path prepare(String container, Request.Rootfs rootfs) throws AgentFailure {
    Path dir = BASE.resolve(container);
    Path image = dir.resolve("image");
    try {
      Files.createDirectories(image);
      GuestLibc.mount(rootfs.device(), image.toString(), "ext4",
          rootfs.readOnly() ? MS_RDONLY : 0, null);
      if (!rootfs.overlay()) {
        return image;
      }
      Path rw = dir.resolve("rw");
      Path root = dir.resolve("rootfs");
      Files.createDirectories(rw);
      Files.createDirectories(root);
      GuestLibc.mount("tmpfs", rw.toString(), "tmpfs", 0, "mode=0755");
      Files.createDirectories(rw.resolve("upper"));
      Files.createDirectories(rw.resolve("work"));
      GuestLibc.mount("overlay", root.toString(), "overlay", 0, "lowerdir=" + image
          + ",upperdir=" + rw.resolve("upper") + ",workdir=" + rw.resolve("work"));
      return root;
    } catch (IOException | RuntimeException e) {
      release(container);
      throw new AgentFailure(Reply.Code.FAILED, "rootfs " + rootfs.device() + ": " + e.getMessage());
    }
  }

  @Override
  public void release(String container) {
    Path dir = BASE.resolve(container);
    for (String mount : new String[] {"rootfs", "rw", "image"}) {
      Path p = dir.resolve(mount);
      if (Files.isDirectory(p)) {
        try {
          GuestLibc.umount2(p.toString(), GuestLibc.MNT_DETACH);
        } catch (RuntimeException e) {
          LOG.log(Level.DEBUG, "umount " + p + ": " + e.getMessage()); // was not mounted
        }
      }
    }
    try (Stream<Path> walk = Files.exists(dir) ? Files.walk(dir) : Stream.empty()) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cleaning " + dir + ": " + e.getMessage());
    }
  }
}

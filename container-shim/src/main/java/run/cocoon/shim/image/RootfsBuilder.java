package run.cocoon.shim.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/** Builds an image's unpacked rootfs once, in a work area, and renames it into rootfs/HEX. */
final class RootfsBuilder {
  private RootfsBuilder() {}

  static Path directory(ImageStore store, Image image) {
    Path done = store.rootfsRoot().resolve(image.digest().hex());
    if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
      return done;
    }
    // One builder per image at a time; the others wait and then find it done.
    try (StoreLock l = store.lockImage(image.digest());
        Staging st = store.stage()) {
      if (Files.isDirectory(done, LinkOption.NOFOLLOW_LINKS)) {
        return done;
      }
      Path work = Files.createDirectory(st.dir().resolve("rootfs"));
      Files.setAttribute(work, "unix:mode", 0755);
      unpack(store, image, work, LayerUnpacker.Options.forCurrentUser());
      Fs.syncFileSystem(work);
      Fs.moveDirectoryIfAbsent(work, done);
      return done;
    } catch (IOException e) {
      throw ImageException.io("cannot unpack image " + image.name(), e);
    }
  }

  /** Applies all layers of a stored image to target, verifying every digest on the way. */
  static LayerUnpacker unpack(
      ImageStore store, Image image, Path target, LayerUnpacker.Options options)
      throws IOException {
    LayerUnpacker u = new LayerUnpacker(target, options);
    List<Descriptor> layers = image.manifest().layers();
    for (int i = 0; i < layers.size(); i++) {
      Descriptor l = layers.get(i);
      try (InputStream in = Files.newInputStream(store.blobPath(l.digest()))) {
        u.apply(in, l, image.config().diffIds().get(i));
      }
    }
    u.finish();
    if (u.skippedDevices() > 0) {
      System.err.println(
          "cocoon: warning: skipped " + u.skippedDevices() + " device nodes (creating them needs"
              + " root)");
    }
    return u;
  }
}

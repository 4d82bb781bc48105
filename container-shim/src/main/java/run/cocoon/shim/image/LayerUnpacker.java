package run.cocoon.shim.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Applies image layers, bottom first, to a target directory the caller owns exclusively.
 *
 * <p>Safety rests on three rules: entry names are normalised and refused if absolute, if they
 * contain "..", NUL or overlong parts; every parent directory is walked from the target without
 * following symlinks, and a symlink (or non-directory) on the way is refused rather than
 * followed; files are always created fresh (unlink, then create with O_EXCL|O_NOFOLLOW), never
 * opened for writing in place, so neither a symlink nor a hard link can redirect a write. Hard
 * links may only name entries inside the target, resolved by the same walk.
 *
 * <p>Layer digests and diff_ids are verified while streaming; a mismatch fails the unpack, and the
 * caller throws the half-built target away.
 */
public final class LayerUnpacker {
  static final String WHITEOUT_PREFIX = ".wh.";
  static final String OPAQUE_MARKER = ".wh..wh..opq";

  /** What the unpacking process may do; ownership and device nodes need root. */
  public record Options(boolean restoreOwnership, boolean createDevices) {
    public static Options forCurrentUser() {
      boolean root = isRoot();
      return new Options(root, root);
    }
  }

  /** Entry metadata applied to directories after all their children exist. */
  private record DirMeta(Path path, int mode, long uid, long gid, FileTime mtime) {}

  private final Path target;
  private final Options options;
  private final List<DirMeta> dirs = new ArrayList<>();
  private final Set<String> warnings = new HashSet<>();
  private Set<String> createdThisLayer = new HashSet<>();
  private long bytes;
  private int entries;
  private int skippedDevices;

  public LayerUnpacker(Path target, Options options) {
    this.target = target;
    this.options = options;
  }

  public long bytesWritten() {
    return bytes;
  }

  public int entries() {
    return entries;
  }

  public int skippedDevices() {
    return skippedDevices;
  }

  /**
   * Unpacks one layer. When layer or diffId are given, the compressed and uncompressed streams must
   * hash to them (and the compressed one must have layer.size() bytes).
   */
  public void apply(InputStream raw, Descriptor layer, Digest diffId) throws IOException {
    createdThisLayer = new HashSet<>();
    MessageDigest rawMd = Digest.sha256();
    CountingInputStream counted = new CountingInputStream(new DigestInputStream(raw, rawMd));
    BufferedInputStream buffered = new BufferedInputStream(counted, 1 << 16);
    Decompression c = Decompression.sniff(buffered);
    MessageDigest tarMd = Digest.sha256();
    InputStream tarStream = new DigestInputStream(c.open(buffered), tarMd);
    String what = layer == null ? "layer" : "layer " + layer.digest().shortHex();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(tarStream, true)) {
      TarArchiveEntry e;
      while ((e = nextEntry(tar, what)) != null) {
        if (++entries > ImageLimits.MAX_ENTRIES) {
          throw ImageException.bad(
              what + ": more than " + ImageLimits.MAX_ENTRIES + " entries in the image");
        }
        applyEntry(tar, e, what);
      }
      // Trailing zero blocks and compressor padding are part of the digests: read to the end.
      drain(tarStream, what);
      drain(buffered, what);
    } catch (java.io.UncheckedIOException ex) {
      throw ex.getCause();
    }
    if (layer != null) {
      Digest got = Digest.of(rawMd);
      if (!got.equals(layer.digest()) || counted.count != layer.size()) {
        throw ImageException.bad(
            what + " does not match its descriptor (got " + counted.count + " bytes, " + got
                + "; expected " + layer.size() + " bytes, " + layer.digest()
                + "); the blob is corrupt: remove and pull or import the image again");
      }
    }
    if (diffId != null) {
      Digest got = Digest.of(tarMd);
      if (!got.equals(diffId)) {
        throw ImageException.bad(
            what + ": uncompressed content " + got + " does not match the config's diff_id "
                + diffId + "; the image is inconsistent");
      }
    }
  }

  /** Sets directory modes, owners and times last, deepest first, once all layers are in. */
  public void finish() throws IOException {
    for (int i = dirs.size() - 1; i >= 0; i--) {
      DirMeta d = dirs.get(i);
      if (Files.isDirectory(d.path, LinkOption.NOFOLLOW_LINKS)) {
        applyMeta(d.path, d.mode, d.uid, d.gid, d.mtime, false);
      }
    }
    dirs.clear();
  }

  private TarArchiveEntry nextEntry(TarArchiveInputStream tar, String what) throws IOException {
    try {
      return tar.getNextEntry();
    } catch (IllegalArgumentException ex) {
      throw ImageException.bad(what + ": malformed tar header: " + ex.getMessage());
    }
  }

  private void drain(InputStream in, String what) throws IOException {
    byte[] buf = new byte[1 << 16];
    for (int n; (n = in.read(buf)) >= 0; ) {
      bytes += n;
      if (bytes > ImageLimits.MAX_UNPACKED_BYTES) {
        throw tooBig(what);
      }
    }
  }

  private static ImageException tooBig(String what) {
    return ImageException.bad(
        what + ": image expands to more than " + ImageLimits.MAX_UNPACKED_BYTES + " bytes");
  }

  private void applyEntry(TarArchiveInputStream tar, TarArchiveEntry e, String what)
      throws IOException {
    List<String> parts = EntryPath.split(e.getName(), what);
    if (parts.isEmpty()) {
      return; // "./": the target itself, which we own and keep as created
    }
    String leaf = parts.getLast();
    String rel = String.join("/", parts);

    if (leaf.startsWith(WHITEOUT_PREFIX)) {
      String victim = leaf.substring(WHITEOUT_PREFIX.length());
      boolean opaque = leaf.equals(OPAQUE_MARKER);
      if (!opaque && (victim.isEmpty() || victim.equals(".") || victim.equals(".."))) {
        throw ImageException.bad(what + ": malformed whiteout entry '" + e.getName() + "'");
      }
      // A whiteout only removes; where its directory does not exist there is nothing to hide.
      Path dir = EntryPath.parentDirectory(target, parts, what, e.getName(), false);
      if (dir == null) {
        return;
      }
      if (opaque) {
        clearLowerChildren(dir, parts.subList(0, parts.size() - 1));
      } else {
        Fs.deleteTree(dir.resolve(victim));
      }
      return;
    }
    Path parent = EntryPath.parentDirectory(target, parts, what, e.getName());
    Path p = parent.resolve(leaf);
    createdThisLayer.add(rel);
    FileTime mtime = e.getLastModifiedTime();
    int mode = e.getMode() & 07777;

    if (e.isDirectory()) {
      BasicFileAttributes a = attrs(p);
      if (a != null && !a.isDirectory()) {
        Files.delete(p);
        a = null;
      }
      if (a == null) {
        Files.createDirectory(p);
      }
      // Keep the directory writable for us until finish(); a 0555 dir must still get children.
      Files.setAttribute(p, "unix:mode", 0700);
      dirs.add(new DirMeta(p, mode, e.getLongUserId(), e.getLongGroupId(), mtime));
      applyXattrs(p, e);
      return;
    }

    clear(p);
    if (e.isSymbolicLink()) {
      String link = e.getLinkName();
      checkLinkTarget(link, what, e.getName());
      Files.createSymbolicLink(p, Path.of(link));
      applyMeta(p, mode, e.getLongUserId(), e.getLongGroupId(), mtime, true);
      applyXattrs(p, e);
    } else if (e.isLink()) {
      checkLinkTarget(e.getLinkName(), what, e.getName());
      List<String> lparts = EntryPath.split(e.getLinkName(), what);
      if (lparts.isEmpty()) {
        throw ImageException.bad(what + ": hard link '" + e.getName() + "' to the root");
      }
      Path existing =
          EntryPath.parentDirectory(target, lparts, what, e.getLinkName()).resolve(lparts.getLast());
      BasicFileAttributes la = attrs(existing);
      if (la == null || la.isDirectory()) {
        throw ImageException.bad(
            what + ": hard link '" + e.getName() + "' points at '" + e.getLinkName()
                + "', which is " + (la == null ? "not in the image" : "a directory"));
      }
      Files.createLink(p, existing);
    } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
      makeNode(p, e, mode, mtime);
    } else if (e.isFile()) {
      if (e.isSparse()) {
        throw ImageException.bad(
            what + ": sparse entry '" + e.getName() + "' is not supported; rebuild the layer"
                + " without --sparse");
      }
      writeFile(tar, e, p, what);
      applyMeta(p, mode, e.getLongUserId(), e.getLongGroupId(), mtime, false);
      applyXattrs(p, e);
    } else {
      throw ImageException.bad(
          what + ": entry '" + e.getName() + "' has an unsupported tar entry type");
    }
  }

  private void writeFile(TarArchiveInputStream tar, TarArchiveEntry e, Path p, String what)
      throws IOException {
    long size = e.getSize();
    if (size < 0 || size > ImageLimits.MAX_UNPACKED_BYTES - bytes) {
      throw ImageException.bad(
          what + ": entry '" + e.getName() + "' declares " + size + " bytes, which would take the"
              + " image over " + ImageLimits.MAX_UNPACKED_BYTES + " bytes");
    }
    try (OutputStream out =
        Files.newOutputStream(
            p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      long n = tar.transferTo(out);
      if (n != size) {
        throw ImageException.bad(
            what + ": entry '" + e.getName() + "' is truncated (" + n + " of " + size + " bytes)");
      }
      bytes += n;
    }
  }

  private void makeNode(Path p, TarArchiveEntry e, int mode, FileTime mtime) throws IOException {
    if (!e.isFIFO() && !options.createDevices()) {
      skippedDevices++;
      return;
    }
    int type = e.isFIFO() ? Posix.S_IFIFO : e.isCharacterDevice() ? Posix.S_IFCHR : Posix.S_IFBLK;
    Posix.mknod(p, type | (mode & 0777), e.getDevMajor(), e.getDevMinor());
    // No times: the JDK sets them through an open(2), which blocks on a FIFO and may act on a
    // device. A node's mtime means nothing to a container.
    applyMeta(p, mode, e.getLongUserId(), e.getLongGroupId(), null, false);
  }

  /** Removes whatever is at p (a file, link, node or whole tree) so a new entry can take its place. */
  private static void clear(Path p) throws IOException {
    BasicFileAttributes a = attrs(p);
    if (a != null) {
      Fs.deleteTree(p);
    }
  }

  /** An opaque directory hides everything lower layers put in it; this layer's entries stay. */
  private void clearLowerChildren(Path dir, List<String> dirParts) throws IOException {
    String prefix = dirParts.isEmpty() ? "" : String.join("/", dirParts) + "/";
    BasicFileAttributes a = attrs(dir);
    if (a == null || !a.isDirectory()) {
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path c : ds) {
        if (!createdThisLayer.contains(prefix + c.getFileName())) {
          Fs.deleteTree(c);
        }
      }
    }
  }

  private void checkLinkTarget(String link, String what, String name) {
    if (link == null || link.isEmpty()) {
      throw ImageException.bad(what + ": link '" + name + "' has an empty target");
    }
    if (link.indexOf('\0') >= 0
        || link.getBytes(StandardCharsets.UTF_8).length > ImageLimits.MAX_LINK_TARGET_BYTES) {
      throw ImageException.bad(
          what + ": link '" + name + "' has a target with NUL or over "
              + ImageLimits.MAX_LINK_TARGET_BYTES + " bytes");
    }
  }

  private void applyMeta(Path p, int mode, long uid, long gid, FileTime mtime, boolean symlink)
      throws IOException {
    if (options.restoreOwnership()) {
      // chown before chmod: chown clears set-id bits.
      Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
    }
    if (!symlink) {
      // Plain chmod(2) on the path: p is not a symlink (we just created it in a tree only we
      // write), and the JDK's no-follow variant opens the file first, which blocks on a FIFO
      // and could have side effects on a device node.
      Files.setAttribute(p, "unix:mode", mode);
    }
    if (mtime == null) {
      return;
    }
    try {
      Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(mtime, null, null);
    } catch (IOException ex) {
      warnOnce("times", "cannot set modification times on some entries (" + ex + ")");
    }
  }

  private void applyXattrs(Path p, TarArchiveEntry e) throws IOException {
    Map<String, String> pax = e.getExtraPaxHeaders();
    int n = 0;
    for (var h : pax.entrySet()) {
      String key = h.getKey();
      if (!key.startsWith("SCHILY.xattr.")) {
        continue;
      }
      if (++n > ImageLimits.MAX_XATTRS_PER_ENTRY) {
        throw ImageException.bad(
            "entry '" + e.getName() + "' has more than " + ImageLimits.MAX_XATTRS_PER_ENTRY
                + " extended attributes");
      }
      String name = key.substring("SCHILY.xattr.".length());
      // commons-compress hands PAX values over as UTF-8 text; binary values that were not valid
      // UTF-8 came through with replacement characters and cannot be restored faithfully.
      if (h.getValue().indexOf('\uFFFD') >= 0) {
        warnOnce("xattr-binary", "skipped binary extended attributes that the tar reader mangles");
        continue;
      }
      byte[] value = h.getValue().getBytes(StandardCharsets.UTF_8);
      if (value.length > ImageLimits.MAX_XATTR_VALUE_BYTES || name.isEmpty() || name.indexOf('\0') >= 0) {
        throw ImageException.bad(
            "entry '" + e.getName() + "' has an extended attribute over "
                + ImageLimits.MAX_XATTR_VALUE_BYTES + " bytes or with a bad name");
      }
      try {
        Posix.lsetxattr(p, name, value);
      } catch (Posix.ErrnoException ex) {
        if (ex.errno == Posix.EPERM || ex.errno == Posix.ENOTSUP) {
          warnOnce("xattr-" + ex.errno, "skipped extended attributes (" + ex.getMessage() + ")");
        } else {
          throw ex;
        }
      }
    }
  }

  private void warnOnce(String key, String message) {
    if (warnings.add(key)) {
      System.err.println("cocoon: warning: " + message);
    }
  }

  private static BasicFileAttributes attrs(Path p) throws IOException {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Counts what passes through, to compare with a descriptor's size. */
  private static final class CountingInputStream extends java.io.FilterInputStream {
    long count;

    CountingInputStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}

package run.cocoon.shim.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The local image store: content-addressed blobs plus named images, and per image the unpacked
 * rootfs directory (container mode) and read-only ext4 disk (VM mode), each built once.
 *
 * <pre>
 * ROOT/oci-layout, index.json     an OCI image layout (names in ref.name annotations)
 * ROOT/blobs/sha256/HEX            blobs, named by the sha256 of their content
 * ROOT/rootfs/HEX/                 unpacked image, HEX = manifest digest
 * ROOT/disks/HEX.ext4              the same as an ext4 image
 * ROOT/tmp/                        work areas of running imports/pulls/builds
 * ROOT/store.lock, locks/          inter-process locks
 * </pre>
 *
 * Safe for several cocoon processes at once: everything is built under tmp/ and renamed into
 * place; index changes happen under store.lock with an atomic replace.
 */
public final class ImageStore {
  /** Default root when neither -Dcocoon.home nor $COCOON_HOME is set. */
  public static final Path DEFAULT_ROOT = Path.of("/var/lib/cocoon");
  /** Work areas older than this whose lock is free belong to dead processes. */
  static final Duration STALE_TMP_AGE = Duration.ofSeconds(10);

  private final Path root;

  private ImageStore(Path root) {
    this.root = root;
  }

  /** The store root: system property cocoon.home, else $COCOON_HOME, else /var/lib/cocoon. */
  public static Path defaultRoot() {
    String p = System.getProperty("cocoon.home");
    if (p == null || p.isEmpty()) {
      p = System.getenv("COCOON_HOME");
    }
    return p == null || p.isEmpty() ? DEFAULT_ROOT : Path.of(p);
  }

  public static ImageStore openDefault() {
    return open(defaultRoot());
  }

  /** Opens (creating if needed) the store at root and removes work areas of dead processes. */
  public static ImageStore open(Path root) {
    ImageStore s = new ImageStore(root.toAbsolutePath().normalize());
    try {
      for (Path d :
          List.of(root, s.blobDir(), s.tmpDir(), s.rootfsRoot(), s.disksDir(), s.locksDir())) {
        Files.createDirectories(d);
      }
      Path layout = root.resolve("oci-layout");
      if (!Files.exists(layout)) {
        Fs.writeAtomically(layout, "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes());
      }
      s.cleanTmp();
    } catch (IOException e) {
      throw new ImageException(
          ImageException.Kind.FAILURE,
          "cannot open the image store at " + root + ": " + e
              + " (set COCOON_HOME to a writable directory, or run as root)",
          e);
    }
    return s;
  }

  public Path root() {
    return root;
  }

  Path blobDir() {
    return root.resolve("blobs").resolve("sha256");
  }

  Path tmpDir() {
    return root.resolve("tmp");
  }

  Path rootfsRoot() {
    return root.resolve("rootfs");
  }

  Path disksDir() {
    return root.resolve("disks");
  }

  Path locksDir() {
    return root.resolve("locks");
  }

  Path indexFile() {
    return root.resolve("index.json");
  }

  public Path blobPath(Digest d) {
    return blobDir().resolve(d.hex());
  }

  public boolean hasBlob(Digest d) {
    return Files.isRegularFile(blobPath(d), LinkOption.NOFOLLOW_LINKS);
  }

  StoreLock lockIndex() throws IOException {
    return StoreLock.acquire(root.resolve("store.lock"));
  }

  StoreLock lockImage(Digest d) throws IOException {
    return StoreLock.acquire(locksDir().resolve(d.hex() + ".lock"));
  }

  /** A new work area; close it when done (it is deleted then, committed or not). */
  public Staging stage() {
    try {
      return new Staging(this);
    } catch (IOException e) {
      throw ImageException.io("cannot create a work area under " + tmpDir(), e);
    }
  }

  /** Reads a stored blob of at most maxBytes and checks its digest (store entries may be corrupt). */
  public byte[] readBlob(Digest d, int maxBytes) throws IOException {
    return readVerified(blobPath(d), d, maxBytes);
  }

  static byte[] readVerified(Path f, Digest d, int maxBytes) throws IOException {
    byte[] data;
    try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
      data = in.readNBytes(maxBytes + 1);
    } catch (NoSuchFileException e) {
      throw new ImageException(
          ImageException.Kind.NOT_FOUND, "blob " + d + " is missing from the image store");
    }
    if (data.length > maxBytes) {
      throw ImageException.bad("blob " + d + " is larger than the limit of " + maxBytes + " bytes");
    }
    if (!Digest.of(data).equals(d)) {
      throw new ImageException(
          ImageException.Kind.FAILURE,
          "stored blob " + d + " is corrupt (content does not match its digest); remove the image"
              + " with 'cocoon rmi' and pull or import it again");
    }
    return data;
  }

  /** Every named image, sorted by name. */
  public List<Image> list() {
    List<Image> out = new ArrayList<>();
    for (var e : StoreIndex.read(indexFile()).entrySet()) {
      out.add(load(e.getKey(), e.getValue().digest()));
    }
    return out;
  }

  /** Name to manifest digest, without loading the images. */
  public Map<String, Digest> names() {
    Map<String, Digest> out = new TreeMap<>();
    StoreIndex.read(indexFile()).forEach((k, v) -> out.put(k, v.digest()));
    return out;
  }

  /**
   * Finds a stored image by reference ("name[:tag]", "name@sha256:...", or a bare "sha256:..."
   * manifest digest). The default image's names also build it on first use.
   */
  public Optional<Image> find(String ref) {
    if (ref.startsWith("sha256:")) {
      Digest d = Digest.parse(ref);
      for (var e : StoreIndex.read(indexFile()).entrySet()) {
        if (e.getValue().digest().equals(d)) {
          return Optional.of(load(e.getKey(), d));
        }
      }
      return Optional.empty();
    }
    Reference r = Reference.parse(ref);
    TreeMap<String, Descriptor> index = StoreIndex.read(indexFile());
    Descriptor d = index.get(r.name());
    if (d == null && r.tag() != null && r.digest() != null) {
      d = index.get(r.fullRepository() + "@" + r.digest());
    }
    if (d != null && r.digest() != null && !d.digest().equals(r.digest())) {
      return Optional.empty();
    }
    if (d == null && r.tag() == null) {
      for (var e : index.entrySet()) {
        if (e.getValue().digest().equals(r.digest())
            && Reference.parse(e.getKey()).fullRepository().equals(r.fullRepository())) {
          d = e.getValue();
        }
      }
    }
    if (d == null) {
      if (DefaultImage.answers(r)) {
        return Optional.of(DefaultImage.ensure(this));
      }
      return Optional.empty();
    }
    return Optional.of(load(r.name(), d.digest()));
  }

  /** Like {@link #find} but fails with a message saying how to get the image. */
  public Image resolve(String ref) {
    return find(ref)
        .orElseThrow(
            () ->
                new ImageException(
                    ImageException.Kind.NOT_FOUND,
                    "no image '" + ref + "' in the store " + root + "; get it with 'cocoon pull "
                        + ref + "' (registry references) or 'cocoon import PATH " + ref + "'"));
  }

  /** Loads and checks a stored image; a corrupt or inconsistent entry is an error, never a guess. */
  Image load(String name, Digest manifestDigest) {
    try {
      ManifestDocument doc =
          ManifestDocument.parse(
              readBlob(manifestDigest, ImageLimits.MAX_MANIFEST_BYTES),
              "manifest " + manifestDigest);
      if (!(doc instanceof Manifest m)) {
        throw ImageException.bad("store entry " + name + " points at an index, not a manifest");
      }
      ImageConfig c =
          ImageConfig.parse(readBlob(m.config().digest(), ImageLimits.MAX_CONFIG_BYTES));
      if (c.diffIds().size() != m.layers().size()) {
        throw ImageException.bad(
            "image " + name + ": config lists " + c.diffIds().size() + " diff_ids for "
                + m.layers().size() + " layers");
      }
      return new Image(name, manifestDigest, m, c);
    } catch (IOException e) {
      throw ImageException.io("cannot read image " + name, e);
    }
  }

  /** Removes names; then deletes blobs, rootfs trees and disks no remaining name needs. */
  public List<String> remove(List<String> refs) {
    List<String> removed = new ArrayList<>();
    try (StoreLock l = lockIndex()) {
      TreeMap<String, Descriptor> index = StoreIndex.read(indexFile());
      for (String ref : refs) {
        String name = ref.startsWith("sha256:") ? null : Reference.parse(ref).name();
        boolean hit = false;
        for (var it = index.entrySet().iterator(); it.hasNext(); ) {
          var e = it.next();
          if (e.getKey().equals(name) || e.getValue().digest().toString().equals(ref)) {
            it.remove();
            removed.add(e.getKey());
            hit = true;
          }
        }
        if (!hit) {
          throw new ImageException(
              ImageException.Kind.NOT_FOUND,
              "no image '" + ref + "' in the store; 'cocoon images' lists what there is");
        }
      }
      StoreIndex.write(indexFile(), index);
      collectGarbage(index);
    } catch (IOException e) {
      throw ImageException.io("cannot remove images", e);
    }
    return removed;
  }

  /** Runs under the store lock, so no commit can add references meanwhile. */
  private void collectGarbage(TreeMap<String, Descriptor> index) throws IOException {
    Set<String> liveBlobs = new HashSet<>();
    Set<String> liveImages = new HashSet<>();
    for (var e : index.entrySet()) {
      Digest md = e.getValue().digest();
      liveImages.add(md.hex());
      liveBlobs.add(md.hex());
      try {
        Image im = load(e.getKey(), md);
        liveBlobs.add(im.configDigest().hex());
        im.manifest().layers().forEach(x -> liveBlobs.add(x.digest().hex()));
      } catch (ImageException ex) {
        // A corrupt entry keeps whatever it may still need; collecting is never worth losing data.
        return;
      }
    }
    deleteUnlisted(blobDir(), liveBlobs, "");
    deleteUnlisted(disksDir(), liveImages, ".ext4");
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(rootfsRoot())) {
      for (Path p : ds) {
        if (!liveImages.contains(p.getFileName().toString())) {
          // Rename first so a half-deleted tree never looks like a finished rootfs.
          Path doomed = tmpDir().resolve("doomed-" + p.getFileName() + "-" + System.nanoTime());
          Files.move(p, doomed);
          Fs.deleteTree(doomed);
        }
      }
    }
  }

  private static void deleteUnlisted(Path dir, Set<String> live, String suffix) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (n.endsWith(suffix) && !live.contains(n.substring(0, n.length() - suffix.length()))) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** Removes work areas whose owner died: their lock file is free and old. */
  private void cleanTmp() throws IOException {
    Instant cutoff = Instant.now().minus(STALE_TMP_AGE);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmpDir())) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (n.endsWith(".lock")) {
          continue;
        }
        Path lock = tmpDir().resolve(n + ".lock");
        FileTime t = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
        boolean owned = Files.exists(lock) && StoreLock.isHeld(lock);
        if (!owned && t.toInstant().isBefore(cutoff)) {
          Fs.deleteTreeQuietly(p);
          Files.deleteIfExists(lock);
        }
      }
    } catch (NoSuchFileException e) {
      // another process is cleaning the same entries
    }
  }

  /** The unpacked rootfs of the image, built on first use (container mode). */
  public Path rootfsDirectory(Image image) {
    return RootfsBuilder.directory(this, image);
  }

  /** The image as a read-only ext4 disk, built on first use (VM mode). */
  public Path rootfsDisk(Image image) {
    return DiskBuilder.disk(this, image);
  }
}

package run.cocoon.shim.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A private work area under the store's tmp/ for one import, pull or build. Blobs land here first,
 * verified, and only {@link #commit} moves them into blobs/ and names the image, under the store
 * lock. Until then nothing outside tmp/ changes, so a killed process leaves nothing that looks
 * complete, and the next store opening removes the area (its lock is no longer held).
 */
public final class Staging implements AutoCloseable {
  private final ImageStore store;
  private final Path dir;
  private final Path lockFile;
  private final StoreLock lock;
  private final Map<Digest, Path> blobs = new ConcurrentHashMap<>();

  Staging(ImageStore store) throws IOException {
    this.store = store;
    String id = "stage-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID();
    this.lockFile = store.tmpDir().resolve(id + ".lock");
    this.lock = StoreLock.acquireUnique(lockFile);
    this.dir = Files.createDirectory(store.tmpDir().resolve(id));
  }

  /** A scratch directory only this staging area uses; removed on close. */
  public Path dir() {
    return dir;
  }

  public Path newFile(String prefix) throws IOException {
    return Files.createTempFile(dir, prefix, ".part");
  }

  /** Whether the blob is staged here or already stored. */
  public boolean has(Digest d) {
    return blobs.containsKey(d) || store.hasBlob(d);
  }

  /** Stages small content (a manifest or config) and returns its descriptor. */
  public Descriptor putBytes(String mediaType, byte[] data) throws IOException {
    Digest d = Digest.of(data);
    if (!has(d)) {
      Path f = newFile("blob");
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(data));
        ch.force(false);
      }
      blobs.put(d, f);
    }
    return new Descriptor(mediaType, d, data.length);
  }

  /**
   * Copies a stream into the staging area while hashing it. When expected is given, the digest
   * and size must match it exactly; otherwise the stream may not exceed maxBytes.
   */
  public Descriptor putStream(String mediaType, InputStream in, Descriptor expected, long maxBytes)
      throws IOException {
    Path f = newFile("blob");
    long limit = expected != null ? expected.size() : maxBytes;
    MessageDigest md = Digest.sha256();
    long n = 0;
    try (OutputStream out = Files.newOutputStream(f, StandardOpenOption.WRITE)) {
      byte[] buf = new byte[1 << 16];
      for (int r; (r = in.read(buf)) > 0; ) {
        n += r;
        if (n > limit) {
          Files.deleteIfExists(f);
          throw ImageException.bad(
              (expected != null ? "blob " + expected.digest() + " is larger than its declared "
                  : "blob is larger than the limit of ") + limit + " bytes");
        }
        md.update(buf, 0, r);
        out.write(buf, 0, r);
      }
    }
    Digest got = Digest.of(md);
    if (expected != null && (n != expected.size() || !got.equals(expected.digest()))) {
      Files.deleteIfExists(f);
      throw ImageException.bad(
          "blob " + expected.digest() + " failed verification: got " + n + " bytes with digest "
              + got + ", expected " + expected.size() + " bytes");
    }
    adoptVerified(f, got);
    return new Descriptor(mediaType, got, n);
  }

  /** Takes over a file in {@link #dir()} whose content is known to have digest d. */
  void adoptVerified(Path file, Digest d) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(false);
    }
    Path old = blobs.putIfAbsent(d, file);
    if (old != null) {
      Files.deleteIfExists(file);
    }
  }

  /** The bytes of a staged or stored blob, verified against its digest. */
  public byte[] readBlob(Digest d, int maxBytes) throws IOException {
    Path f = blobs.get(d);
    return f == null ? store.readBlob(d, maxBytes) : ImageStore.readVerified(f, d, maxBytes);
  }

  /**
   * Makes the image visible: moves the staged blobs into blobs/, checks every blob the manifest
   * needs is there, and points each name at the manifest, all under the store lock.
   */
  public void commit(Collection<String> names, Descriptor manifest) throws IOException {
    Manifest m =
        (Manifest) ManifestDocument.parse(readBlob(manifest.digest(), ImageLimits.MAX_MANIFEST_BYTES),
            "manifest " + manifest.digest());
    try (StoreLock l = store.lockIndex()) {
      for (var e : blobs.entrySet()) {
        Fs.moveAtomically(e.getValue(), store.blobPath(e.getKey()));
      }
      blobs.clear();
      for (Descriptor d : concat(manifest, m)) {
        if (!store.hasBlob(d.digest())) {
          throw new ImageException(
              ImageException.Kind.FAILURE,
              "blob " + d.digest() + " vanished while the image was being stored (removed by a"
                  + " concurrent 'cocoon rmi'?); run the command again");
        }
      }
      TreeMap<String, Descriptor> index = StoreIndex.read(store.indexFile());
      Descriptor entry = new Descriptor(manifest.mediaType(), manifest.digest(), manifest.size());
      for (String name : names) {
        index.put(name, entry);
      }
      StoreIndex.write(store.indexFile(), index);
    }
  }

  private static List<Descriptor> concat(Descriptor manifest, Manifest m) {
    Map<Digest, Descriptor> all = new LinkedHashMap<>();
    all.put(manifest.digest(), manifest);
    all.put(m.config().digest(), m.config());
    m.layers().forEach(l -> all.put(l.digest(), l));
    return List.copyOf(all.values());
  }

  @Override
  public void close() throws IOException {
    try {
      Fs.deleteTree(dir);
    } finally {
      lock.close();
      Files.deleteIfExists(lockFile);
    }
  }
}

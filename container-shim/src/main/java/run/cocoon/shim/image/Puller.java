package run.cocoon.shim.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Pulls an image from a registry into the store: resolves the reference to a linux/amd64
 * manifest, fetches the config and the missing layers (several at once) into a work area,
 * verifies every digest and size, and only then names the image.
 */
public final class Puller {
  private final ImageStore store;
  private final Progress progress;

  public Puller(ImageStore store, Progress progress) {
    this.store = store;
    this.progress = progress;
  }

  public Image pull(String ref, boolean plainHttp) {
    Reference r = Reference.parse(ref);
    if (r.registry() == null) {
      throw ImageException.bad(
          "'" + ref + "' names no registry; write HOST[:PORT]/NAME[:TAG] (there is no default"
              + " registry), or use 'cocoon import' for local archives");
    }
    RegistryClient c = new RegistryClient(r.registry(), plainHttp);
    try (Staging st = store.stage()) {
      RegistryClient.Fetched f = c.manifest(r.repository(), r.manifestSelector());
      Digest top = checkManifestDigest(f, r);
      ManifestDocument doc = ManifestDocument.parse(f.body(), "manifest of " + ref);
      byte[] raw = f.body();
      Digest digest = top;
      if (doc instanceof ImageIndex idx) {
        Descriptor d = idx.linuxAmd64();
        RegistryClient.Fetched mf = c.manifest(r.repository(), d.digest().toString());
        if (mf.body().length != d.size() || !Digest.of(mf.body()).equals(d.digest())) {
          throw ImageException.bad(
              "manifest " + d.digest() + " from " + r.registry() + " does not match its digest"
                  + " or size in the index");
        }
        raw = mf.body();
        digest = d.digest();
        doc = ManifestDocument.parse(raw, "manifest " + d.digest());
        if (!(doc instanceof Manifest)) {
          throw ImageException.bad("index entry " + d.digest() + " is not an image manifest");
        }
      }
      Manifest m = (Manifest) doc;
      byte[] cfg = fetchSmall(c, r, m.config(), ImageLimits.MAX_CONFIG_BYTES);
      ImageImporter.checkConfig(ImageConfig.parse(cfg), m);
      st.putBytes(m.config().mediaType(), cfg);
      downloadLayers(c, r, m, st);
      Descriptor md = st.putBytes(m.mediaType(), raw);
      if (!md.digest().equals(digest)) {
        throw new IllegalStateException("manifest digest changed while staging");
      }
      String name = r.tag() != null ? r.name() : r.fullRepository() + "@" + digest;
      st.commit(List.of(name), md);
      return store.load(name, md.digest());
    } catch (IOException e) {
      throw new ImageException(
          ImageException.Kind.UNAVAILABLE, "pull of " + ref + " failed: " + e, e);
    }
  }

  /** The digest of what the registry sent, checked against what we asked for and what it claims. */
  private static Digest checkManifestDigest(RegistryClient.Fetched f, Reference r) {
    Digest got = Digest.of(f.body());
    if (r.digest() != null && !got.equals(r.digest())) {
      throw ImageException.bad(
          "registry sent a manifest with digest " + got + " for " + r.digest() + "; refusing it");
    }
    if (f.dockerContentDigest() != null) {
      Digest claimed = Digest.parse(f.dockerContentDigest());
      if (!claimed.equals(got)) {
        throw ImageException.bad(
            "registry claims manifest digest " + claimed + " but sent content with " + got);
      }
    }
    return got;
  }

  private static byte[] fetchSmall(RegistryClient c, Reference r, Descriptor d, int max)
      throws IOException {
    if (d.size() > max) {
      throw ImageException.bad(d.digest() + " declares " + d.size() + " bytes, over " + max);
    }
    try (InputStream in = c.blob(r.repository(), d.digest())) {
      byte[] b = RegistryClient.readBounded(in, max, "blob " + d.digest());
      if (b.length != d.size() || !Digest.of(b).equals(d.digest())) {
        throw ImageException.bad("blob " + d.digest() + " from the registry failed verification");
      }
      return b;
    }
  }

  private void downloadLayers(RegistryClient c, Reference r, Manifest m, Staging st)
      throws IOException {
    Map<Digest, Descriptor> todo = new LinkedHashMap<>();
    for (Descriptor l : m.layers()) {
      if (!st.has(l.digest())) {
        todo.put(l.digest(), l);
      }
    }
    if (todo.isEmpty()) {
      progress.message("all layers already stored");
      return;
    }
    ExecutorService pool =
        Executors.newFixedThreadPool(
            Math.min(ImageLimits.PULL_PARALLELISM, todo.size()),
            Thread.ofPlatform().daemon().name("cocoon-pull-", 0).factory());
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (Descriptor l : todo.values()) {
        fs.add(pool.submit(() -> {
          download(c, r, l, st);
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("pull interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ImageException ie) {
        throw ie;
      }
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
      progress.finish();
    }
  }

  /** Downloads one layer, retrying broken connections; a digest mismatch is never retried. */
  private void download(RegistryClient c, Reference r, Descriptor l, Staging st)
      throws IOException {
    progress.start(l.digest(), l.size());
    IOException last = null;
    for (int attempt = 1; attempt <= ImageLimits.DOWNLOAD_ATTEMPTS; attempt++) {
      try (InputStream in = new Reporting(c.blob(r.repository(), l.digest()), l.digest())) {
        st.putStream(l.mediaType(), in, l, l.size());
        progress.done(l.digest());
        return;
      } catch (java.io.InterruptedIOException e) {
        throw e;
      } catch (IOException e) {
        last = e;
        progress.message("layer " + l.digest().shortHex() + ": " + e.getMessage()
            + (attempt < ImageLimits.DOWNLOAD_ATTEMPTS ? "; retrying" : ""));
      }
    }
    throw last;
  }

  /** Feeds the bytes read to the progress display. */
  private final class Reporting extends FilterInputStream {
    private final Digest d;

    Reporting(InputStream in, Digest d) {
      super(in);
      this.d = d;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        progress.advance(d, n);
      }
      return n;
    }
  }
}

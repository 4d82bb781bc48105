package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Imports OCI image layouts (directory or tar) and {@code docker save} archives. Every blob is
 * verified against its digest and size while it is copied into a work area, and the names appear
 * only once all of an image's blobs are in the store.
 */
public final class ImageImporter {
  static final String OCI_LAYOUT = "oci-layout";
  static final String CONTAINERD_NAME = "io.containerd.image.name";

  private final ImageStore store;

  public ImageImporter(ImageStore store) {
    this.store = store;
  }

  /**
   * Imports the archive at path. With a name, the archive must hold one image (or one whose
   * stored name or tag matches) and it is stored under that name; without, images keep the names
   * the archive gives them. Returns the stored images.
   */
  public List<Image> importPath(Path path, String name) {
    if (name != null) {
      Reference.parse(name); // reject a bad name before copying gigabytes
    }
    try (Staging st = store.stage()) {
      ImportSource src = ImportSource.open(path, st);
      List<Named> picked;
      if (src.file(OCI_LAYOUT) != null) {
        picked = ociLayout(src, st, path, name);
      } else if (src.file("manifest.json") != null) {
        picked = dockerSave(src, st, path, name);
      } else {
        throw ImageException.bad(
            path + " is neither an OCI image layout (no oci-layout file) nor a docker save"
                + " archive (no manifest.json)");
      }
      List<Image> out = new ArrayList<>();
      for (Named n : picked) {
        st.commit(List.of(n.name), n.manifest);
      }
      for (Named n : picked) {
        out.add(store.load(n.name, n.manifest.digest()));
      }
      return out;
    } catch (IOException e) {
      throw ImageException.io("cannot import " + path, e);
    }
  }

  private record Named(String name, Descriptor manifest) {}

  private List<Named> ociLayout(ImportSource src, Staging st, Path path, String name)
      throws IOException {
    JsonNode layout =
        Json.parse(read(src, OCI_LAYOUT, ImageLimits.MAX_ARCHIVE_METADATA_BYTES), OCI_LAYOUT);
    if (!layout.has("imageLayoutVersion")) {
      throw ImageException.bad(path + ": oci-layout has no imageLayoutVersion");
    }
    ManifestDocument top =
        ManifestDocument.parse(read(src, "index.json", ImageLimits.MAX_MANIFEST_BYTES), "index.json");
    if (!(top instanceof ImageIndex index)) {
      throw ImageException.bad(path + ": index.json is not an image index");
    }
    List<Named> out = new ArrayList<>();
    List<String> available = new ArrayList<>();
    for (Descriptor d : index.manifests()) {
      String n = d.annotations().get(CONTAINERD_NAME);
      String refName = d.annotations().get(StoreIndex.REF_NAME);
      if (n == null && refName != null && isFullName(refName)) {
        n = refName;
      }
      available.add(n != null ? n : refName != null ? refName : d.digest().toString());
      boolean wanted =
          name == null
              ? true
              : index.manifests().size() == 1
                  || name.equals(n)
                  || (refName != null && (name.equals(refName)
                      || Reference.parse(name).tag() != null
                          && Reference.parse(name).tag().equals(refName)));
      if (!wanted) {
        continue;
      }
      String storeAs = name != null ? Reference.parse(name).name() : n;
      if (storeAs == null) {
        throw ImageException.bad(
            path + ": image " + d.digest() + " has no full name (ref.name is '" + refName
                + "'); give one: cocoon import " + path + " NAME:TAG");
      }
      storeAs = Reference.parse(storeAs).name();
      out.add(new Named(storeAs, stageImage(src, st, d)));
    }
    if (out.isEmpty()) {
      throw new ImageException(
          ImageException.Kind.NOT_FOUND,
          path + " holds no image matching '" + name + "'; it holds " + available);
    }
    return out;
  }

  /** A ref.name that is a whole reference ("repo:tag", "host/repo"), not just a tag. */
  private static boolean isFullName(String s) {
    if (!s.contains(":") && !s.contains("/")) {
      return false;
    }
    try {
      Reference.parse(s);
      return true;
    } catch (ImageException e) {
      return false;
    }
  }

  /** Stages a manifest (choosing linux/amd64 from an index), its config and layers, verified. */
  private Descriptor stageImage(ImportSource src, Staging st, Descriptor d) throws IOException {
    byte[] raw = readBlob(src, d, ImageLimits.MAX_MANIFEST_BYTES);
    ManifestDocument doc = ManifestDocument.parse(raw, "manifest " + d.digest());
    if (doc instanceof ImageIndex idx) {
      Descriptor m = idx.linuxAmd64();
      raw = readBlob(src, m, ImageLimits.MAX_MANIFEST_BYTES);
      doc = ManifestDocument.parse(raw, "manifest " + m.digest());
      d = m;
      if (!(doc instanceof Manifest)) {
        throw ImageException.bad("index entry " + m.digest() + " is not an image manifest");
      }
    }
    Manifest m = (Manifest) doc;
    byte[] cfg = readBlob(src, m.config(), ImageLimits.MAX_CONFIG_BYTES);
    checkConfig(ImageConfig.parse(cfg), m);
    st.putBytes(m.config().mediaType(), cfg);
    for (Descriptor l : m.layers()) {
      if (!st.has(l.digest())) {
        copyBlob(src, st, l);
      }
    }
    return st.putBytes(d.mediaType(), raw);
  }

  static void checkConfig(ImageConfig c, Manifest m) {
    if (!c.runsHere()) {
      throw ImageException.bad(
          "image is for " + c.os() + "/" + c.architecture() + "; cocoon runs linux/amd64 images");
    }
    if (c.diffIds().size() != m.layers().size()) {
      throw ImageException.bad(
          "image config lists " + c.diffIds().size() + " diff_ids for " + m.layers().size()
              + " layers");
    }
  }

  private List<Named> dockerSave(ImportSource src, Staging st, Path path, String name)
      throws IOException {
    byte[] mj = read(src, "manifest.json", ImageLimits.MAX_ARCHIVE_METADATA_BYTES);
    JsonNode arr;
    try {
      arr = Json.MAPPER.readTree(mj);
    } catch (IOException e) {
      throw ImageException.bad(path + ": manifest.json is not valid JSON");
    }
    if (arr == null || !arr.isArray() || arr.isEmpty()) {
      throw ImageException.bad(path + ": manifest.json is not a non-empty array");
    }
    List<Named> out = new ArrayList<>();
    for (JsonNode e : arr) {
      String what = path + " manifest.json entry";
      if (!e.isObject()) {
        throw ImageException.bad(what + " is not an object");
      }
      List<String> tags = Json.optStrings(e, "RepoTags", what);
      tags = tags == null ? List.of() : tags;
      boolean wanted = name == null || arr.size() == 1 || tags.contains(name);
      if (!wanted) {
        continue;
      }
      List<String> names = new ArrayList<>();
      if (name != null) {
        names.add(Reference.parse(name).name());
      } else {
        for (String t : tags) {
          names.add(Reference.parse(t).name());
        }
      }
      if (names.isEmpty()) {
        throw ImageException.bad(
            path + " holds an untagged image; give a name: cocoon import " + path + " NAME:TAG");
      }
      byte[] cfg = read(src, Json.text(e, "Config", what), ImageLimits.MAX_CONFIG_BYTES);
      ImageConfig config = ImageConfig.parse(cfg);
      Descriptor c = st.putBytes(MediaTypes.OCI_CONFIG, cfg);
      List<String> layerFiles = Json.optStrings(e, "Layers", what);
      if (layerFiles == null || layerFiles.size() > ImageLimits.MAX_LAYERS) {
        throw ImageException.bad(what + ": 'Layers' missing or over " + ImageLimits.MAX_LAYERS);
      }
      List<Descriptor> layers = new ArrayList<>();
      for (String lf : layerFiles) {
        Path f = src.file(lf);
        if (f == null) {
          throw ImageException.bad(what + ": layer file '" + lf + "' is missing");
        }
        layers.add(stageLayerFile(st, f));
      }
      Manifest m = new Manifest(MediaTypes.OCI_MANIFEST, c, layers);
      checkConfig(config, m);
      for (int i = 0; i < layers.size(); i++) {
        // An uncompressed layer's digest is its diff_id: check now rather than at first unpack.
        if (layers.get(i).mediaType().equals(MediaTypes.OCI_LAYER)
            && !layers.get(i).digest().equals(config.diffIds().get(i))) {
          throw ImageException.bad(
              what + ": layer " + layerFiles.get(i) + " does not match diff_id "
                  + config.diffIds().get(i));
        }
      }
      Descriptor md = st.putBytes(MediaTypes.OCI_MANIFEST, m.toJson());
      for (String n : names) {
        out.add(new Named(n, md));
      }
    }
    if (out.isEmpty()) {
      throw new ImageException(
          ImageException.Kind.NOT_FOUND, path + " holds no image tagged '" + name + "'");
    }
    return out;
  }

  /** Stages a docker-save layer file, naming its media type after its actual compression. */
  private static Descriptor stageLayerFile(Staging st, Path f) throws IOException {
    Decompression c;
    try (var in = new java.io.BufferedInputStream(Files.newInputStream(f))) {
      c = Decompression.sniff(in);
    }
    String mt =
        switch (c) {
          case NONE -> MediaTypes.OCI_LAYER;
          case GZIP -> MediaTypes.OCI_LAYER_GZIP;
          case ZSTD -> MediaTypes.OCI_LAYER_ZSTD;
        };
    try (InputStream in = Files.newInputStream(f)) {
      return st.putStream(mt, in, null, ImageLimits.MAX_LAYER_BYTES);
    }
  }

  private static void copyBlob(ImportSource src, Staging st, Descriptor d) throws IOException {
    Path f = src.file("blobs/sha256/" + d.digest().hex());
    if (f == null) {
      throw ImageException.bad("blob " + d.digest() + " is missing from the archive");
    }
    try (InputStream in = Files.newInputStream(f)) {
      st.putStream(d.mediaType(), in, d, d.size());
    }
  }

  private static byte[] readBlob(ImportSource src, Descriptor d, int max) throws IOException {
    if (d.size() > max) {
      throw ImageException.bad(
          "blob " + d.digest() + " declares " + d.size() + " bytes, over the limit of " + max);
    }
    byte[] data = read(src, "blobs/sha256/" + d.digest().hex(), max);
    if (data.length != d.size() || !Digest.of(data).equals(d.digest())) {
      throw ImageException.bad(
          "blob " + d.digest() + " in the archive does not match its digest or size");
    }
    return data;
  }

  private static byte[] read(ImportSource src, String name, int max) throws IOException {
    Path f = src.file(name);
    if (f == null) {
      throw ImageException.bad("the archive has no '" + name + "'");
    }
    try (InputStream in = Files.newInputStream(f)) {
      byte[] data = in.readNBytes(max + 1);
      if (data.length > max) {
        throw ImageException.bad("'" + name + "' in the archive is over " + max + " bytes");
      }
      return data;
    }
  }
}

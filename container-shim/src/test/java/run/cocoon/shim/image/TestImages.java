package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars, images and OCI layouts for tests, including hostile ones. */
final class TestImages {
  static final java.nio.file.attribute.FileTime FIXED_TIME =
      java.nio.file.attribute.FileTime.fromMillis(1_700_000_000_000L);

  private TestImages() {}

  /** A tar built entry by entry; entries are written exactly as given, unchecked. */
  static final class Tar {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream out;

    Tar() {
      out = new TarArchiveOutputStream(bytes);
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    Tar dir(String name, int mode) {
      TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true);
      e.setMode(mode);
      return put(e, null);
    }

    Tar file(String name, String content) {
      return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
    }

    Tar file(String name, byte[] content, int mode) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
      e.setMode(0100000 | mode);
      e.setSize(content.length);
      return put(e, content);
    }

    Tar file(String name, String content, Consumer<TarArchiveEntry> tweak) {
      byte[] c = content.getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_NORMAL, true);
      e.setMode(0100644);
      e.setSize(c.length);
      tweak.accept(e);
      return put(e, c);
    }

    Tar symlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
      e.setLinkName(target);
      return put(e, null);
    }

    Tar hardlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
      e.setLinkName(target);
      return put(e, null);
    }

    Tar device(String name, byte type, int major, int minor) {
      TarArchiveEntry e = new TarArchiveEntry(name, type, true);
      e.setDevMajor(major);
      e.setDevMinor(minor);
      e.setMode(0620);
      return put(e, null);
    }

    Tar raw(TarArchiveEntry e, byte[] content) {
      return put(e, content);
    }

    private Tar put(TarArchiveEntry e, byte[] content) {
      // A fixed time makes equal inputs give equal layers (and digests).
      e.setModTime(FIXED_TIME);
      try {
        out.putArchiveEntry(e);
        if (content != null) {
          out.write(content);
        }
        out.closeArchiveEntry();
      } catch (IOException ex) {
        throw new IllegalStateException(ex);
      }
      return this;
    }

    byte[] bytes() {
      try {
        out.finish();
        out.close();
      } catch (IOException ex) {
        throw new IllegalStateException(ex);
      }
      return bytes.toByteArray();
    }
  }

  static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (OutputStream o = new GZIPOutputStream(b)) {
      o.write(data);
    }
    return b.toByteArray();
  }

  static byte[] zstd(byte[] data) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (OutputStream o = new ZstdOutputStream(b)) {
      o.write(data);
    }
    return b.toByteArray();
  }

  /** An image's blobs: manifest bytes last-built, all blobs by digest. */
  record Built(Descriptor manifest, byte[] manifestBytes, Map<Digest, byte[]> blobs) {}

  enum Compression {
    NONE,
    GZIP,
    ZSTD
  }

  /** Builds a linux/amd64 image from uncompressed layer tars, compressing each as asked. */
  static Built image(List<byte[]> tars, Compression c, List<String> cmd, String arch)
      throws IOException {
    Map<Digest, byte[]> blobs = new LinkedHashMap<>();
    List<Descriptor> layers = new ArrayList<>();
    ObjectNode cfg = Json.object();
    cfg.put("architecture", arch);
    cfg.put("os", "linux");
    var cmdNode = cfg.putObject("config").putArray("Cmd");
    cmd.forEach(cmdNode::add);
    ObjectNode rootfs = cfg.putObject("rootfs");
    rootfs.put("type", "layers");
    var ids = rootfs.putArray("diff_ids");
    for (byte[] t : tars) {
      ids.add(Digest.of(t).toString());
      byte[] blob =
          switch (c) {
            case NONE -> t;
            case GZIP -> gzip(t);
            case ZSTD -> zstd(t);
          };
      String mt =
          switch (c) {
            case NONE -> MediaTypes.OCI_LAYER;
            case GZIP -> MediaTypes.OCI_LAYER_GZIP;
            case ZSTD -> MediaTypes.OCI_LAYER_ZSTD;
          };
      Digest d = Digest.of(blob);
      blobs.put(d, blob);
      layers.add(new Descriptor(mt, d, blob.length));
    }
    byte[] cfgBytes = Json.write(cfg);
    Descriptor cd = new Descriptor(MediaTypes.OCI_CONFIG, Digest.of(cfgBytes), cfgBytes.length);
    blobs.put(cd.digest(), cfgBytes);
    byte[] mb = new Manifest(MediaTypes.OCI_MANIFEST, cd, layers).toJson();
    Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.of(mb), mb.length,
        new Platform("linux", arch, null), Map.of());
    blobs.put(md.digest(), mb);
    return new Built(md, mb, blobs);
  }

  static Built simple(String marker, Compression c) throws IOException {
    byte[] l1 = new Tar().dir("etc", 0755).file("etc/marker", marker).file("bin/tool", "#!/bin/sh\n").bytes();
    byte[] l2 = new Tar().file("etc/second", "layer two").file(".wh.dummy", "").bytes();
    return image(List.of(l1, l2), c, List.of("/bin/tool"), "amd64");
  }

  /** An index document over the given manifests (their descriptors carry the platform). */
  static byte[] index(List<Descriptor> manifests) {
    ObjectNode o = Json.object();
    o.put("schemaVersion", 2);
    o.put("mediaType", MediaTypes.OCI_INDEX);
    var a = o.putArray("manifests");
    manifests.forEach(m -> a.add(m.toJson()));
    return Json.write(o);
  }

  /** Writes an OCI layout with one index entry per (ref.name, image) pair. */
  static Path layout(Path dir, Map<String, Built> images) throws IOException {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    List<Descriptor> entries = new ArrayList<>();
    for (var e : images.entrySet()) {
      for (var b : e.getValue().blobs().entrySet()) {
        Files.write(dir.resolve("blobs/sha256/" + b.getKey().hex()), b.getValue());
      }
      Descriptor m = e.getValue().manifest();
      entries.add(new Descriptor(m.mediaType(), m.digest(), m.size(), null,
          Map.of(StoreIndex.REF_NAME, e.getKey())));
    }
    Files.write(dir.resolve("index.json"), index(entries));
    return dir;
  }

  /** Tars a directory tree (regular files only, names relative), as an archive tool would. */
  static Path tarTree(Path dir, Path out) throws IOException {
    Tar t = new Tar();
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted().toList()) {
        if (Files.isRegularFile(p)) {
          t.file(dir.relativize(p).toString(), Files.readAllBytes(p), 0644);
        }
      }
    }
    Files.write(out, t.bytes());
    return out;
  }
}

package run.cocoon.shim.image;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The image cocoon runs when nothing else is available: Debian's static busybox with a symlink
 * per applet, /etc/passwd and /etc/group, and the mount points a runtime needs (so it also works
 * from a read-only disk). Built on this machine, offline, deterministically: sorted entries, fixed
 * times, owner root, an uncompressed layer. The same busybox binary always gives the same digest.
 */
public final class DefaultImage {
  /** The name it is stored under. */
  public static final String NAME = "cocoon/busybox:latest";
  /** Short names that also find it when no image of that name was imported or pulled. */
  static final List<String> ALIASES = List.of("cocoon/busybox:latest", "busybox:latest");
  /** The busybox-static package's binary; -Dcocoon.busybox overrides it (tests). */
  static final Path BUSYBOX = Path.of("/bin/busybox");
  /** Every entry's modification time: the epoch, for reproducibility. */
  static final FileTime EPOCH = FileTime.fromMillis(0);
  /** Longest applet path busybox may report; anything else is not an applet line. */
  private static final Pattern APPLET = Pattern.compile("(?:usr/)?s?bin/[a-z0-9_.\\[-]{1,64}");

  private DefaultImage() {}

  static boolean answers(Reference r) {
    return r.registry() == null && r.digest() == null && ALIASES.contains(r.name());
  }

  static Path busybox() {
    String p = System.getProperty("cocoon.busybox");
    return p == null || p.isEmpty() ? BUSYBOX : Path.of(p);
  }

  /** The default image, building and storing it first if it is not in the store yet. */
  public static Image ensure(ImageStore store) {
    Digest existing = store.names().get(NAME);
    if (existing != null) {
      return store.load(NAME, existing);
    }
    Path bb = busybox();
    if (!Files.isRegularFile(bb)) {
      throw new ImageException(
          ImageException.Kind.UNAVAILABLE,
          bb + " is missing, so the default image cannot be built; install busybox-static"
              + " (scripts/setup-host does)");
    }
    try (Staging st = store.stage()) {
      byte[] layer = layer(bb, applets(bb));
      Descriptor l = st.putBytes(MediaTypes.OCI_LAYER, layer);
      Descriptor c = st.putBytes(MediaTypes.OCI_CONFIG, config(l.digest()));
      Manifest m = new Manifest(MediaTypes.OCI_MANIFEST, c, List.of(l));
      Descriptor md = st.putBytes(MediaTypes.OCI_MANIFEST, m.toJson());
      st.commit(List.of(NAME), md);
      return store.load(NAME, md.digest());
    } catch (IOException e) {
      throw ImageException.io("cannot build the default image", e);
    }
  }

  /** Applet paths from "busybox --list-full" (e.g. "bin/ls", "usr/bin/awk"), sorted. */
  static List<String> applets(Path bb) throws IOException {
    Process p = new ProcessBuilder(bb.toString(), "--list-full").redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readNBytes(1024 * 1024);
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new ImageException(ImageException.Kind.FAILURE, bb + " --list-full failed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageException(ImageException.Kind.FAILURE, "interrupted");
    }
    return new String(out, StandardCharsets.UTF_8)
        .lines()
        .map(String::strip)
        .filter(s -> APPLET.matcher(s).matches() && !s.equals("bin/busybox"))
        .sorted()
        .distinct()
        .toList();
  }

  static byte[] layer(Path bb, List<String> applets) throws IOException {
    // path -> entry; a TreeMap keeps parents before children and the order stable.
    TreeMap<String, TarArchiveEntry> entries = new TreeMap<>();
    Map<String, byte[]> contents = new TreeMap<>();
    for (String d :
        List.of("bin", "dev", "etc", "home", "proc", "root", "run", "sbin", "sys", "tmp", "usr",
            "usr/bin", "usr/sbin", "var", "var/tmp")) {
      TarArchiveEntry e = new TarArchiveEntry(d + "/", TarConstants.LF_DIR);
      e.setMode(d.equals("tmp") || d.equals("var/tmp") ? 01777 : d.equals("root") ? 0700 : 0755);
      entries.put(d + "/", e);
    }
    addFile(entries, contents, "bin/busybox", 0755, Files.readAllBytes(bb));
    addFile(entries, contents, "etc/passwd", 0644,
        ("root:x:0:0:root:/root:/bin/sh\n"
            + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n").getBytes(StandardCharsets.UTF_8));
    addFile(entries, contents, "etc/group", 0644,
        "root:x:0:\nnogroup:x:65534:\n".getBytes(StandardCharsets.UTF_8));
    addFile(entries, contents, "etc/hosts", 0644,
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n".getBytes(StandardCharsets.UTF_8));
    // Empty files a runtime bind-mounts over; they must exist on a read-only rootfs.
    addFile(entries, contents, "etc/hostname", 0644, new byte[0]);
    addFile(entries, contents, "etc/resolv.conf", 0644, new byte[0]);
    for (String a : applets) {
      TarArchiveEntry e = new TarArchiveEntry(a, TarConstants.LF_SYMLINK);
      e.setLinkName("/bin/busybox");
      e.setMode(0777);
      entries.putIfAbsent(a, e);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (var en : entries.entrySet()) {
        TarArchiveEntry e = en.getValue();
        e.setModTime(EPOCH);
        e.setUserId(0);
        e.setGroupId(0);
        e.setUserName("root");
        e.setGroupName("root");
        byte[] data = contents.get(en.getKey());
        if (data != null) {
          e.setSize(data.length);
        }
        tar.putArchiveEntry(e);
        if (data != null) {
          tar.write(data);
        }
        tar.closeArchiveEntry();
      }
      tar.finish();
    }
    return bytes.toByteArray();
  }

  private static void addFile(
      Map<String, TarArchiveEntry> entries, Map<String, byte[]> contents, String path, int mode,
      byte[] data) {
    TarArchiveEntry e = new TarArchiveEntry(path, TarConstants.LF_NORMAL);
    e.setMode(0100000 | mode);
    entries.put(path, e);
    contents.put(path, data);
  }

  static byte[] config(Digest diffId) {
    ObjectNode o = Json.object();
    o.put("architecture", "amd64");
    o.put("os", "linux");
    o.put("created", "1970-01-01T00:00:00Z");
    ObjectNode c = o.putObject("config");
    c.putArray("Env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    c.putArray("Cmd").add("sh");
    c.put("WorkingDir", "/");
    c.putObject("Labels").put("org.opencontainers.image.description",
        "cocoon default image: busybox from Debian's busybox-static");
    ObjectNode r = o.putObject("rootfs");
    r.put("type", "layers");
    ArrayNode ids = r.putArray("diff_ids");
    ids.add(diffId.toString());
    return Json.write(o);
  }
}

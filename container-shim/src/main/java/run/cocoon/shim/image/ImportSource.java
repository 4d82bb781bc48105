package run.cocoon.shim.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/** The files of an archive being imported, whether it is a directory or a tar (any compression). */
sealed interface ImportSource permits ImportSource.Directory, ImportSource.Extracted {

  /** The file with this archive-relative name, or null when there is none. */
  Path file(String name) throws IOException;

  static ImportSource open(Path path, Staging st) throws IOException {
    if (Files.isDirectory(path)) {
      return new Directory(path);
    }
    if (!Files.isRegularFile(path)) {
      throw new ImageException(
          ImageException.Kind.NOT_FOUND, path + " is neither a directory nor a file");
    }
    return Extracted.from(path, st);
  }

  /** Normalises an archive-relative name; null for anything that would leave the archive. */
  static String clean(String name) {
    try {
      List<String> parts = EntryPath.split(name, "archive");
      return parts.isEmpty() ? null : String.join("/", parts);
    } catch (ImageException e) {
      return null;
    }
  }

  /** An OCI layout directory (or unpacked docker save) on disk. */
  record Directory(Path root) implements ImportSource {
    @Override
    public Path file(String name) {
      String c = clean(name);
      if (c == null) {
        throw ImageException.bad("archive refers to '" + name + "', outside the archive");
      }
      Path p = root.resolve(c);
      return Files.isRegularFile(p) ? p : null;
    }
  }

  /** A tar whose regular files were copied into the work area, keyed by their clean names. */
  record Extracted(Map<String, Path> files) implements ImportSource {
    static Extracted from(Path tarFile, Staging st) throws IOException {
      Map<String, Path> files = new HashMap<>();
      Path dir = Files.createDirectory(st.dir().resolve("archive"));
      long total = 0;
      try (InputStream raw = Files.newInputStream(tarFile, LinkOption.NOFOLLOW_LINKS);
          var buffered = new java.io.BufferedInputStream(raw, 1 << 16);
          TarArchiveInputStream tar =
              new TarArchiveInputStream(Decompression.sniff(buffered).open(buffered), true)) {
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
          if (!e.isFile()) {
            continue; // directories and links carry nothing an image archive needs
          }
          String c = clean(e.getName());
          if (c == null) {
            throw ImageException.bad(
                tarFile + ": entry '" + e.getName() + "' refused: absolute or contains '..'");
          }
          if (files.size() >= ImageLimits.MAX_ARCHIVE_ENTRIES) {
            throw ImageException.bad(
                tarFile + " has more than " + ImageLimits.MAX_ARCHIVE_ENTRIES + " files");
          }
          total += e.getSize();
          if (e.getSize() < 0 || total > ImageLimits.MAX_UNPACKED_BYTES) {
            throw ImageException.bad(
                tarFile + " holds more than " + ImageLimits.MAX_UNPACKED_BYTES + " bytes");
          }
          Path f = dir.resolve("f" + files.size());
          long n = Files.copy(tar, f);
          if (n != e.getSize()) {
            throw ImageException.bad(tarFile + ": entry '" + e.getName() + "' is truncated");
          }
          files.put(c, f);
        }
      } catch (IllegalArgumentException e) {
        throw ImageException.bad(tarFile + " is not a readable tar archive: " + e.getMessage());
      }
      return new Extracted(files);
    }

    @Override
    public Path file(String name) {
      String c = clean(name);
      return c == null ? null : files.get(c);
    }
  }
}

package run.cocoon.shim.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** Validation and symlink-free resolution of layer entry names. */
final class EntryPath {
  private EntryPath() {}

  /**
   * Splits an entry name into components, dropping "." and empty parts (so "./a//b/" is a/b).
   * Refuses absolute names, "..", NUL and names or components over the limits.
   */
  static List<String> split(String name, String what) {
    if (name == null) {
      throw ImageException.bad(what + ": entry without a name");
    }
    if (name.getBytes(StandardCharsets.UTF_8).length > ImageLimits.MAX_ENTRY_NAME_BYTES) {
      throw ImageException.bad(
          what + ": entry name longer than " + ImageLimits.MAX_ENTRY_NAME_BYTES + " bytes: "
              + name.substring(0, 64) + "...");
    }
    if (name.indexOf('\0') >= 0) {
      throw ImageException.bad(what + ": entry name contains a NUL byte");
    }
    if (name.startsWith("/")) {
      throw ImageException.bad(
          what + ": absolute entry name '" + name + "' refused (layer entries are relative)");
    }
    List<String> parts = new ArrayList<>();
    for (String c : name.split("/")) {
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        throw ImageException.bad(what + ": entry '" + name + "' refused: it contains '..'");
      }
      if (c.getBytes(StandardCharsets.UTF_8).length > ImageLimits.MAX_NAME_COMPONENT_BYTES) {
        throw ImageException.bad(
            what + ": entry '" + name.substring(0, Math.min(64, name.length()))
                + "...' has a path component over " + ImageLimits.MAX_NAME_COMPONENT_BYTES
                + " bytes");
      }
      parts.add(c);
    }
    if (parts.size() > ImageLimits.MAX_PATH_DEPTH) {
      throw ImageException.bad(
          what + ": entry '" + name.substring(0, 64) + "...' is deeper than "
              + ImageLimits.MAX_PATH_DEPTH + " directories");
    }
    return parts;
  }

  /**
   * The directory that will hold the entry's last component, walked from root one component at a
   * time without following symlinks. Missing directories are created (tar semantics); a symlink
   * or a non-directory on the way is refused: following it could lead outside root.
   */
  static Path parentDirectory(Path root, List<String> parts, String what, String name)
      throws IOException {
    return parentDirectory(root, parts, what, name, true);
  }

  /** As above; without create, a missing directory on the way gives null. */
  static Path parentDirectory(
      Path root, List<String> parts, String what, String name, boolean create) throws IOException {
    Path p = root;
    for (int i = 0; i < parts.size() - 1; i++) {
      p = p.resolve(parts.get(i));
      BasicFileAttributes a;
      try {
        a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        if (!create) {
          return null;
        }
        Files.createDirectory(p);
        continue;
      }
      if (a.isSymbolicLink()) {
        throw ImageException.bad(
            what + ": entry '" + name + "' refused: it would be written through the symlink '"
                + String.join("/", parts.subList(0, i + 1)) + "'");
      }
      if (!a.isDirectory()) {
        throw ImageException.bad(
            what + ": entry '" + name + "' refused: '" + String.join("/", parts.subList(0, i + 1))
                + "' is not a directory");
      }
    }
    return p;
  }
}

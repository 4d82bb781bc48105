package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Resolves a container path inside a root directory the way runc's securejoin does: component
 * by component, following symlinks but interpreting every link target (absolute or with
 * {@code ..}) relative to the root, so the result can never leave it. Components that do not
 * exist yet are kept as written. The helper repeats the check in the kernel (openat2 with
 * RESOLVE_IN_ROOT) when it acts on the path.
 */
public final class SafePath {
  private SafePath() {}

  /**
   * Checks that {@code path} is an absolute container path without {@code ..} components or NUL
   * bytes, within the length bound; returns it without redundant slashes.
   */
  public static String checkContainerPath(String field, String path) {
    if (path == null || path.isEmpty()) {
      throw new InvalidSpecException(field, "is empty");
    }
    if (path.indexOf('\0') >= 0) {
      throw new InvalidSpecException(field, "contains a NUL byte");
    }
    if (path.length() > ContainerLimits.MAX_PATH_BYTES) {
      throw new InvalidSpecException(field, "is longer than MAX_PATH_BYTES");
    }
    if (!path.startsWith("/")) {
      throw new InvalidSpecException(field, "'" + ContainerId.printable(path) + "' is not absolute");
    }
    List<String> parts = new ArrayList<>();
    for (String c : path.split("/")) {
      if (c.equals("..")) {
        throw new InvalidSpecException(field, "'" + ContainerId.printable(path)
            + "' contains '..'");
      }
      if (!c.isEmpty() && !c.equals(".")) {
        parts.add(c);
      }
    }
    return "/" + String.join("/", parts);
  }

  /**
   * Resolves {@code containerPath} under {@code root}. Returns the resolved path relative to the
   * root ("" for the root itself), with every existing symlink replaced by its target as seen from
   * inside the root.
   */
  public static String resolveInRoot(Path root, String containerPath) {
    Deque<String> todo = new ArrayDeque<>(components(containerPath));
    List<String> done = new ArrayList<>();
    int links = 0;
    while (!todo.isEmpty()) {
      String c = todo.pollFirst();
      if (c.isEmpty() || c.equals(".")) {
        continue;
      }
      if (c.equals("..")) {
        if (!done.isEmpty()) {
          done.removeLast();
        }
        continue;
      }
      Path candidate = root.resolve(String.join("/", done)).resolve(c);
      if (Files.isSymbolicLink(candidate)) {
        if (++links > ContainerLimits.MAX_SYMLINKS) {
          throw new InvalidSpecException(containerPath, "too many symlinks (more than "
              + "MAX_SYMLINKS) while resolving inside the rootfs");
        }
        String target;
        try {
          target = Files.readSymbolicLink(candidate).toString();
        } catch (IOException e) {
          throw new InvalidSpecException(containerPath, "cannot read symlink: " + e.getMessage());
        }
        if (target.startsWith("/")) {
          done.clear();
        }
        List<String> t = components(target);
        for (int i = t.size() - 1; i >= 0; i--) {
          todo.addFirst(t.get(i));
        }
        continue;
      }
      done.add(c);
    }
    return String.join("/", done);
  }

  private static List<String> components(String path) {
    List<String> out = new ArrayList<>();
    for (String c : path.split("/")) {
      if (!c.isEmpty()) {
        out.add(c);
      }
    }
    return out;
  }
}

package run.cocoon.shim.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;
import run.cocoon.shim.run.StateFiles;

/**
 * The runtime's state root ({@code --root}, default {@code /run/cocoon-runtime}): one directory per
 * container holding {@code state.json} and, until start, {@code exec.fifo}.
 */
final class StateDir {
  static final Path DEFAULT_ROOT = Path.of("/run/cocoon-runtime");
  static final String STATE = "state.json";
  static final String EXEC_FIFO = "exec.fifo";

  private final Path root;

  StateDir(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  Path root() {
    return root;
  }

  Path dir(ContainerId id) {
    return root.resolve(id.value());
  }

  Path execFifo(ContainerId id) {
    return dir(id).resolve(EXEC_FIFO);
  }

  /** Claims the id: fails if a container with it exists. */
  Path claim(ContainerId id) throws IOException {
    Files.createDirectories(root);
    try {
      return Files.createDirectory(dir(id));
    } catch (FileAlreadyExistsException e) {
      throw new RuntimeCliException("container with id exists: " + id);
    }
  }

  void save(RuntimeState s) throws IOException {
    StateFiles.write(dir(new ContainerId(s.id())).resolve(STATE), s);
  }

  /** The container's state; "container does not exist" (runc's words, podman matches them). */
  RuntimeState load(ContainerId id) {
    Path f = dir(id).resolve(STATE);
    try {
      RuntimeState s = StateFiles.read(f, RuntimeState.class);
      if (!id.value().equals(s.id())) {
        throw new RuntimeCliException("state of " + id + " is corrupt: it names " + s.id());
      }
      return s;
    } catch (NoSuchFileException e) {
      if (Files.isDirectory(dir(id))) {
        return null; // create was killed before it recorded anything
      }
      throw new RuntimeCliException("container does not exist");
    } catch (IOException e) {
      throw new RuntimeCliException("state of " + id + " is unreadable: " + e.getMessage());
    }
  }

  boolean exists(ContainerId id) {
    return Files.isDirectory(dir(id));
  }

  /** created | running | stopped (creating while create has not recorded a process). */
  String status(RuntimeState s) {
    if (s.pid() == 0) {
      return "creating";
    }
    if ("vm".equals(s.isolation())) {
      return VmRuntime.status(this, s);
    }
    if (!DetachedContainer.isAlive(s.handle())) {
      return "stopped";
    }
    return Files.exists(execFifo(new ContainerId(s.id()))) ? "created" : "running";
  }

  List<ContainerId> ids() throws IOException {
    List<ContainerId> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        try {
          out.add(new ContainerId(p.getFileName().toString()));
        } catch (RuntimeException notOurs) {
          // a stray file in the root is not a container
        }
      }
    }
    out.sort(Comparator.comparing(ContainerId::value));
    return out;
  }

  void remove(ContainerId id) throws IOException {
    Path d = dir(id);
    if (!Files.exists(d)) {
      return;
    }
    try (Stream<Path> s = Files.walk(d)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}

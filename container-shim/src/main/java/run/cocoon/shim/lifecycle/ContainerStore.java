package run.cocoon.shim.lifecycle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import run.cocoon.container.ContainerId;
import run.cocoon.container.HostMounts;

/**
 * The one container state store: one directory per container under a root, holding
 * {@code state.json} ({@link ContainerState}, written atomically) and whatever the container's
 * isolation keeps there: the exec FIFO until start, the bundle and overlay of {@code cocoon run},
 * a VM's disk, sockets and logs, the container's output log. {@code cocoon} keeps its store under
 * {@code $COCOON_HOME/containers}, {@code cocoon-runtime} under {@code --root}.
 *
 * <p>The root and every container directory are 0700 and state files 0600 whatever the umask:
 * they name processes, cgroups and sockets that reach into containers.
 */
public final class ContainerStore {
  /** {@code cocoon-runtime}'s default root, as runc's is {@code /run/runc}. */
  public static final Path RUNTIME_ROOT = Path.of("/run/cocoon-runtime");
  public static final String STATE = "state.json";
  /** The container's output, for {@code cocoon logs}. */
  public static final String LOG = "container.log";
  /** runc's {@code exec.fifo}: exists from create until start. */
  public static final String EXEC_FIFO = "exec.fifo";
  /** Passes over a container's directory before a remove that races a writer gives up. */
  static final int REMOVE_ATTEMPTS = 10;
  static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");

  private final Path root;

  public ContainerStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /** {@code cocoon}'s store in its home directory. */
  public static ContainerStore inHome(Path home) {
    return new ContainerStore(home.resolve("containers"));
  }

  public Path root() {
    return root;
  }

  public Path dir(ContainerId id) {
    return root.resolve(id.value());
  }

  public Path execFifo(ContainerId id) {
    return dir(id).resolve(EXEC_FIFO);
  }

  /** Claims the id: makes its directory, or fails if a container with it exists. */
  public Path claim(ContainerId id) throws IOException {
    privateDirectories(root);
    try {
      Path d = Files.createDirectory(dir(id));
      Files.setPosixFilePermissions(d, PRIVATE_DIR);
      return d;
    } catch (FileAlreadyExistsException e) {
      throw new LifecycleException("container with id exists: " + id);
    }
  }

  private static void privateDirectories(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PRIVATE_DIR);
    }
  }

  public void save(ContainerState s) throws IOException {
    StateFiles.write(dir(s.containerId()).resolve(STATE), s);
  }

  /**
   * Records how the container ended, unless it was removed meanwhile (a forced remove while its
   * waiter still ran): nothing is recreated for a container that is gone.
   */
  public void saveExit(ContainerState s, int code) throws IOException {
    if (Files.exists(dir(s.containerId()).resolve(STATE))) {
      try {
        save(s.exited(code));
      } catch (NoSuchFileException e) {
        // removed between the look and the write
      }
    }
  }

  /**
   * The container's state; empty while its directory exists but create has not recorded
   * anything (or was killed before it did). "container does not exist" (runc's words, which
   * engines match) when there is no such container.
   */
  public Optional<ContainerState> find(ContainerId id) {
    Path f = dir(id).resolve(STATE);
    try {
      ContainerState s = StateFiles.read(f, ContainerState.class);
      if (!id.value().equals(s.id())) {
        throw new LifecycleException("state of " + id + " is corrupt: it names " + s.id());
      }
      return Optional.of(s);
    } catch (NoSuchFileException e) {
      if (Files.isDirectory(dir(id))) {
        return Optional.empty();
      }
      throw new LifecycleException("container does not exist");
    } catch (IOException e) {
      throw new LifecycleException("state of " + id + " is unreadable: " + e.getMessage());
    }
  }

  /** The state of a container that create has recorded. */
  public ContainerState load(ContainerId id) {
    return find(id).orElseThrow(() -> new LifecycleException("container " + id
        + " was not fully created; a forced delete removes it"));
  }

  public boolean exists(ContainerId id) {
    return Files.isDirectory(dir(id));
  }

  /** The ids in the store, sorted; stray files that are not container ids are not listed. */
  public List<ContainerId> ids() throws IOException {
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

  /** Every recorded container, oldest first; ones being created or unreadable are left out. */
  public List<ContainerState> list() throws IOException {
    List<ContainerState> out = new ArrayList<>();
    for (ContainerId id : ids()) {
      try {
        find(id).ifPresent(out::add);
      } catch (LifecycleException e) {
        // vanished or corrupt: not listed
      }
    }
    out.sort(Comparator.comparing(ContainerState::created));
    return out;
  }

  /**
   * Removes the container's directory. A rootfs that a crash left mounted there is unmounted
   * first, so the delete never walks into an image's files.
   */
  public void remove(ContainerId id) throws IOException {
    Path d = dir(id);
    if (!Files.exists(d)) {
      return;
    }
    HostMounts.unmount(d.resolve(HostLifecycle.BUNDLE).resolve("rootfs"));
    // The process that held the container may still be writing its exit into the directory
    // (a forced remove does not wait for it): what vanishes or appears meanwhile is taken again.
    for (int attempt = 1; Files.exists(d, LinkOption.NOFOLLOW_LINKS); attempt++) {
      try (Stream<Path> s = Files.walk(d)) {
        for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      } catch (NoSuchFileException | DirectoryNotEmptyException | UncheckedIOException e) {
        if (attempt == REMOVE_ATTEMPTS) {
          throw new IOException("cannot remove " + d + ": it keeps changing", e);
        }
      }
    }
  }
}

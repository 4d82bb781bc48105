package run.cocoon.shim.run;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import run.cocoon.container.ContainerId;
import run.cocoon.container.DetachedContainer;
import run.cocoon.container.HostMounts;
import run.cocoon.container.HostProcesses;

/**
 * {@code cocoon run}'s containers under {@code $COCOON_HOME/containers/<id>/}: {@code state.json}
 * (written atomically), {@code bundle/} (config.json, rootfs mount point), the overlay's
 * {@code upper/} and {@code work/}, and {@code container.log} (the output, for {@code logs}).
 */
public final class ContainerStore {
  public static final String STATE = "state.json";
  public static final String LOG = "container.log";

  /** One container's record. {@code pid} 0 until it runs; {@code exitCode} null until it ends. */
  public record Record(String id, String image, List<String> command, String isolation,
      String created, int pid, long startTime, Map<String, String> cgroup, int namespaceFlags,
      Integer exitCode) {
    public Record {
      command = command == null ? List.of() : List.copyOf(command);
      cgroup = cgroup == null ? Map.of() : Map.copyOf(cgroup);
    }

    Record running(int pid, long startTime, Map<String, String> cgroup, int flags) {
      return new Record(id, image, command, isolation, created, pid, startTime, cgroup, flags, null);
    }

    Record exited(int code) {
      return new Record(id, image, command, isolation, created, pid, startTime, cgroup,
          namespaceFlags, code);
    }

    public boolean alive() {
      return pid > 0 && exitCode == null && HostProcesses.isAlive(pid, startTime);
    }

    public String status() {
      if (exitCode != null) {
        return "exited (" + exitCode + ")";
      }
      if (pid == 0) {
        return "created";
      }
      return alive() ? "running" : "exited (unknown)";
    }

    public DetachedContainer.Handle handle() {
      Map<String, Path> dirs = new HashMap<>();
      cgroup.forEach((k, v) -> dirs.put(k, Path.of(v)));
      return new DetachedContainer.Handle(new ContainerId(id), pid, startTime, dirs, namespaceFlags);
    }
  }

  private final Path root;

  public ContainerStore(Path home) {
    this.root = home.resolve("containers").toAbsolutePath().normalize();
  }

  public Path dir(ContainerId id) {
    return root.resolve(id.value());
  }

  public Path claim(ContainerId id) throws IOException {
    Files.createDirectories(root);
    try {
      return Files.createDirectory(dir(id));
    } catch (FileAlreadyExistsException e) {
      throw new IllegalArgumentException("a container named " + id + " exists; remove it with cocoon rm");
    }
  }

  public void save(Record r) throws IOException {
    StateFiles.write(dir(new ContainerId(r.id())).resolve(STATE), r);
  }

  public Record load(ContainerId id) {
    try {
      return StateFiles.read(dir(id).resolve(STATE), Record.class);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("no container " + id);
    } catch (IOException e) {
      throw new IllegalArgumentException("state of " + id + " is unreadable: " + e.getMessage());
    }
  }

  public List<Record> list() throws IOException {
    List<Record> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        try {
          out.add(load(new ContainerId(p.getFileName().toString())));
        } catch (RuntimeException e) {
          // being created or corrupt: not listed
        }
      }
    }
    out.sort(Comparator.comparing(Record::created));
    return out;
  }

  /** Removes the container's directory; its rootfs is unmounted first if a crash left it. */
  public void remove(ContainerId id) throws IOException {
    Path d = dir(id);
    if (!Files.exists(d)) {
      return;
    }
    HostMounts.unmount(d.resolve("bundle/rootfs"));
    try (Stream<Path> s = Files.walk(d)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}

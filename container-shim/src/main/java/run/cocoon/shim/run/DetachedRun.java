package run.cocoon.shim.run;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import run.cocoon.container.ContainerId;
import run.cocoon.shim.cli.Main;
import run.cocoon.shim.lifecycle.ChildJvm;
import run.cocoon.shim.lifecycle.ContainerState;
import run.cocoon.shim.lifecycle.ContainerStore;
import run.cocoon.shim.lifecycle.LifecycleException;
import run.cocoon.shim.vm.VmContainer;

/**
 * {@code cocoon run -d}: the same foreground run, in a process of its own that holds the
 * container (and, in VM isolation, runs its VM) in a session of its own, with stdin from
 * /dev/null and its output in the container's log. This command claims the id, starts that
 * process, waits until the container runs, prints the id and exits; the holder records how the
 * container ended. Whatever fails before the container runs is reported here from the log, and
 * the id's directory is removed.
 */
final class DetachedRun {
  /**
   * How long the container may take to run: a VM's boot to its agent and the create request, as
   * for a runtime container's keeper.
   */
  static final Duration READY_TIMEOUT = VmContainer.AGENT_READY_TIMEOUT.plusMinutes(4);
  private static final long POLL_MILLIS = 20;
  /** Bytes of the holder's log quoted when the container did not start. */
  private static final int LOG_TAIL_BYTES = 4096;
  /** util-linux's setsid: the holder leaves the caller's session, so its hang-up is not ours. */
  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private DetachedRun() {}

  /**
   * Starts the holder with {@code cocoon}'s original arguments (everything after {@code run}) and
   * waits for the container to run.
   */
  static int launch(ContainerStore store, ContainerId id, List<String> originalArgs,
      boolean addName) throws IOException {
    Path dir = store.claim(id);
    Path log = dir.resolve(ContainerStore.LOG);
    Process holder;
    try {
      Files.createFile(log);
      List<String> args = new ArrayList<>(List.of("run", "--detached-child"));
      if (addName) {
        args.addAll(List.of("--name", id.value()));
      }
      args.addAll(afterRun(originalArgs));
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(SETSID)) {
        cmd.add(SETSID.toString());
      }
      cmd.addAll(ChildJvm.command(Main.class, args));
      holder = new ProcessBuilder(cmd)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .redirectErrorStream(true)
          .start();
    } catch (IOException | RuntimeException e) {
      store.remove(id);
      throw e;
    }
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (true) {
      if (!Files.exists(dir)) {
        break; // it ran and --rm removed it
      }
      Optional<ContainerState> s = find(store, id);
      if (s.isPresent() && s.get().pid() != 0) {
        break;
      }
      if (!holder.isAlive()) {
        String why = tail(log);
        store.remove(id);
        throw new LifecycleException("container " + id + " did not start"
            + (why.isEmpty() ? " (exit " + holder.exitValue() + ")" : ":\n" + why));
      }
      if (System.nanoTime() > deadline) {
        holder.destroyForcibly();
        store.remove(id);
        throw new LifecycleException("container " + id + " did not start within "
            + READY_TIMEOUT.toSeconds() + " s");
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while the container started", e);
      }
    }
    System.out.println(id);
    return 0;
  }

  private static Optional<ContainerState> find(ContainerStore store, ContainerId id) {
    try {
      return store.find(id);
    } catch (LifecycleException e) {
      return Optional.empty(); // removed between the look at the directory and the read
    }
  }

  /** The arguments after the subcommand's name. */
  static List<String> afterRun(List<String> originalArgs) {
    int i = originalArgs.indexOf("run");
    return originalArgs.subList(i + 1, originalArgs.size());
  }

  private static String tail(Path log) {
    try {
      byte[] b = Files.readAllBytes(log);
      int from = Math.max(0, b.length - LOG_TAIL_BYTES);
      return new String(b, from, b.length - from, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }
}

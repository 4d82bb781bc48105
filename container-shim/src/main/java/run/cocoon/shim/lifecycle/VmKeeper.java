package run.cocoon.shim.lifecycle;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.container.ContainerId;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.vm.VmContainer;

/**
 * The host process of a VM-isolated runtime container: {@code cocoon-runtime create} starts it
 * detached, and its pid is the container's pid (the {@code --pid-file} pid conmon waits for).
 * It inherits the caller's fds 0-2 (conmon's pipes) and makes them the container's stdio, boots
 * the VM, has the agent create the container, says so in {@code keeper.status}, then waits: a
 * later {@code start} talks to the agent directly. When the container ends the VM is stopped at
 * once (its disk is read-only, its overlay is discarded) and this process exits with the
 * container's status, so it lives exactly as long as the container.
 *
 * <p>Usage: {@code VmKeeper STATE_DIR}. Its own messages go to {@code keeper.log} there, never
 * to fds 1 and 2, which carry the container's output.
 */
public final class VmKeeper {
  /**
   * Exit status when the VM or the agent failed after the container was created, or the agent
   * reported an exit code outside 0-255.
   */
  static final int VM_FAILED_EXIT = 255;
  /** Exit status when the container could not be created (create reports why). */
  static final int CREATE_FAILED_EXIT = 1;

  private VmKeeper() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    PrintStream log = new PrintStream(new FileOutputStream(
        dir.resolve(VmLifecycle.KEEPER_LOG).toFile(), true), true);
    FileOutputStream out = new FileOutputStream(FileDescriptor.out);
    FileOutputStream err = new FileOutputStream(FileDescriptor.err);
    System.setOut(log);
    System.setErr(log);
    System.exit(run(dir, out, err, log));
  }

  private static int run(Path dir, FileOutputStream out, FileOutputStream err, PrintStream log) {
    VmContainer vm;
    try {
      VmLifecycle.Launch launch = StateFiles.read(dir.resolve(VmLifecycle.LAUNCH), VmLifecycle.Launch.class);
      OciSpec spec = OciSpec.read(dir.resolve(VmLifecycle.GUEST_CONFIG));
      ObjectNode json = Codec.json().valueToTree(spec);
      vm = VmContainer.boot(new VmContainer.Spec(VmLifecycle.AGENT_CONTAINER, json,
          dir.resolve(VmLifecycle.DISK), launch.cpus(), launch.memoryBytes(), true, false,
          List.of(), dir.resolve(VmLifecycle.VM_DIR)));
      try {
        // Always attached: conmon gives /dev/null when the container gets no stdin, and the
        // container then reads EOF, as it would from /dev/null.
        vm.create(new FileInputStream(FileDescriptor.in), out, err);
      } catch (IOException | AgentException | RuntimeException e) {
        vm.stopNow("create failed");
        throw e;
      }
    } catch (IOException | AgentException | RuntimeException e) {
      String msg = e instanceof AgentException ? "the agent refused: " + e.getMessage()
          : e.getMessage() == null ? e.toString() : e.getMessage();
      log.println("create failed: " + msg);
      e.printStackTrace(log);
      report(dir, new VmLifecycle.KeeperStatus(false, msg), log);
      return CREATE_FAILED_EXIT;
    }
    if (!report(dir, new VmLifecycle.KeeperStatus(true, null), log)) {
      vm.stopNow("cannot report readiness");
      return CREATE_FAILED_EXIT;
    }
    log.println("container created; vm phases so far: " + vm.timing());
    int code;
    try {
      Reply.Exited exited = vm.waitFor();
      log.println("container exited: code " + exited.exitCode() + ", signal " + exited.signal()
          + (exited.oomKilled() ? ", OOM-killed" : ""));
      // exitCode is already 128 + signal for a signalled process: what conmon makes of either.
      // The guest is not trusted: a code no process can have is reported as a lost VM.
      code = exited.exitCode() >= 0 && exited.exitCode() <= 255 ? exited.exitCode() : VM_FAILED_EXIT;
      recordExit(dir, code, log);
    } catch (IOException | AgentException | RuntimeException e) {
      log.println("lost the container: " + e);
      code = VM_FAILED_EXIT;
    } catch (InterruptedException e) {
      code = VM_FAILED_EXIT;
    }
    vm.stopNow("the container has ended");
    return code;
  }

  /** How the container ended, in its state, for front ends that list containers. */
  private static void recordExit(Path dir, int code, PrintStream log) {
    try {
      ContainerStore store = new ContainerStore(dir.getParent());
      store.saveExit(store.load(new ContainerId(dir.getFileName().toString())), code);
    } catch (IOException | RuntimeException e) {
      log.println("cannot record the exit status: " + e);
    }
  }

  /** A JVM running this class on {@code dir}, with our fds 0-2. */
  static Process spawn(Path dir) throws IOException {
    return new ProcessBuilder(ChildJvm.command(VmKeeper.class, List.of(dir.toString())))
        .inheritIO().start();
  }

  private static boolean report(Path dir, VmLifecycle.KeeperStatus status, PrintStream log) {
    try {
      StateFiles.write(dir.resolve(VmLifecycle.KEEPER_STATUS), status);
      return true;
    } catch (IOException e) {
      log.println("cannot write " + VmLifecycle.KEEPER_STATUS + ": " + e);
      return false;
    }
  }
}

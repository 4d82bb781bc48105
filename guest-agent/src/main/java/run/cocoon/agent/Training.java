package run.cocoon.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import run.cocoon.agent.guest.AgentConsole;
import run.cocoon.agent.guest.ChildProcesses;
import run.cocoon.agent.guest.GuestControl;
import run.cocoon.agent.guest.GuestMounts;
import run.cocoon.agent.guest.KernelCommandLine;
import run.cocoon.agent.guest.OrphanReaper;
import run.cocoon.agent.guest.Uptime;
import run.cocoon.agent.guest.VsockConnection;
import run.cocoon.agent.guest.VsockListener;

/**
 * The AOT cache's training run ({@code AgentMain --train}, on the build host): the agent's
 * start-up paths minus everything that needs to be PID 1 or would change the host. It parses a
 * command line and the host's mount table, links every libc call, starts and stops the reaper, and
 * serves one conversation over a Unix socket (the same listener and stream code as vsock).
 */
final class Training {
  private static final long SERVE_MILLIS = 30_000;

  private Training() {}

  static void run(AgentServer server) throws Exception {
    KernelCommandLine cmdline = KernelCommandLine.parse(
        "console=ttyS0 reboot=k panic=-1 cocoon.time=" + System.currentTimeMillis()
            + " " + KernelCommandLine.SELFTEST + "=none");
    cmdline.hostTime().orElseThrow();
    GuestMounts.missing(GuestMounts.currentMountPoints());
    Uptime.millis();
    ChildProcesses children = new ChildProcesses();
    GuestControl guest = new GuestControl() {
      @Override
      public void setClock(Instant now) {}

      @Override
      public void setHostname(String name) {}

      @Override
      public ChildProcesses children() {
        return children;
      }
    };
    try (OrphanReaper reaper = OrphanReaper.start(children)) {
      if (Files.isExecutable(Path.of("/bin/true"))) {
        children.start(new ProcessBuilder("/bin/true")).waitFor();
      }
      converse(server, guest);
    }
    AgentConsole.log("training run done");
  }

  private static void converse(AgentServer server, GuestControl guest) throws Exception {
    Path dir = Files.createTempDirectory("cocoon-train");
    Path socket = dir.resolve("agent.sock");
    try (VsockListener listener = VsockListener.bindUnix(socket)) {
      Thread serving = Thread.ofPlatform().name("cocoon-train-serve").start(() -> {
        try {
          server.serve(listener, guest, null);
        } catch (Exception e) {
          AgentConsole.log("training server", e);
        }
      });
      // The client talks from a virtual thread, as the protocol server's connections do: its
      // waits go through the poller, which then is in the cache too.
      Thread client = Thread.ofVirtual().start(() -> {
        try (VsockConnection connection = VsockConnection.connectUnix(socket.toString())) {
          server.trainingConversation(connection);
        } catch (IOException e) {
          AgentConsole.log("training client", e);
        }
      });
      if (!client.join(Duration.ofMillis(SERVE_MILLIS))) {
        throw new IOException("training: the conversation did not end");
      }
      if (!serving.join(Duration.ofMillis(SERVE_MILLIS))) {
        throw new IOException("training: the server did not return after its conversation");
      }
    } finally {
      Files.deleteIfExists(socket);
      Files.delete(dir);
    }
  }
}

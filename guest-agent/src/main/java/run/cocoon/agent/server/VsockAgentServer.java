package run.cocoon.agent.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedChannelException;
import java.time.Instant;
import java.util.function.IntSupplier;
import run.cocoon.agent.AgentServer;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.guest.ChildProcesses;
import run.cocoon.agent.guest.GuestControl;
import run.cocoon.agent.guest.VsockConnection;
import run.cocoon.agent.guest.VsockListener;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.SpawnedChildren;

/**
 * The agent's server in the guest: vsock connections into the {@link ProtocolServer}, containers
 * through {@link GuestContainers} on rootfs disks mounted by {@link GuestRootfs}.
 */
public final class VsockAgentServer implements AgentServer {
  private static final System.Logger LOG = System.getLogger(VsockAgentServer.class.getName());

  @Override
  public void serve(VsockListener listener, GuestControl guest, Reply.BootPhases boot)
      throws IOException {
    ChildProcesses children = guest.children();
    // The container library's helpers are children of PID 1 that it reaps itself.
    SpawnedChildren.install(new SpawnedChildren() {
      @Override
      public int spawn(IntSupplier spawn) {
        return children.start(spawn::getAsInt, pid -> (long) pid);
      }

      @Override
      public void reaped(int pid) {
        children.release(pid);
      }
    });
    GuestContainers containers = new GuestContainers(ContainerRuntime::defaults, new GuestRootfs());
    try (ProtocolServer server = new ProtocolServer(containers, listener::close,
        millis -> guest.setClock(Instant.ofEpochMilli(millis)), boot)) {
      accept(listener, server);
    } finally {
      containers.stopAll();
    }
  }

  /**
   * Accepts until the listener is closed (by a shutdown request); a peer other than the host is
   * closed at once ({@link HostOnlyPeers}).
   */
  static void accept(VsockListener listener, ProtocolServer server) throws IOException {
    while (true) {
      VsockConnection c;
      try {
        c = listener.accept();
      } catch (ClosedChannelException closed) {
        return;
      }
      String refusal = HostOnlyPeers.refusal(listener.isVsock(), c.peerCid(), c.peerPort());
      if (refusal != null) {
        LOG.log(Level.WARNING, refusal);
        c.close();
        continue;
      }
      server.accept(wrap(c));
    }
  }

  static Connection wrap(VsockConnection c) {
    return new Connection() {
      @Override
      public InputStream input() {
        return c.input();
      }

      @Override
      public OutputStream output() {
        return c.output();
      }

      @Override
      public void shutdownOutput() {
        c.shutdownOutput();
      }

      @Override
      public void close() {
        c.close();
      }
    };
  }

  /** Hello, a list and a refused request, then shutdown: the paths a first real request takes. */
  @Override
  public void trainingConversation(VsockConnection connection) throws IOException {
    Connection wrapped = wrap(connection);
    try (AgentClient client = AgentClient.connect(() -> wrapped)) {
      client.list();
      try {
        client.start("training-absent");
      } catch (AgentException expected) {
        // the error reply path is part of the training
      }
      client.shutdown();
    } catch (AgentException e) {
      throw new IOException("training conversation: " + e.getMessage(), e);
    }
  }
}

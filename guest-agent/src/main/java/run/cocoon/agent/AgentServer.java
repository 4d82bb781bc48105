package run.cocoon.agent;

import java.io.IOException;
import run.cocoon.agent.guest.GuestControl;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.guest.VsockConnection;
import run.cocoon.agent.guest.VsockListener;

/**
 * The agent's request server, started by {@link AgentMain} once the guest is set up
 * ({@link run.cocoon.agent.server.VsockAgentServer}).
 */
public interface AgentServer {
  /**
   * Serves connections from {@code listener} until the guest should end, then returns: the agent
   * powers the guest off. Throwing is fatal too (the agent prints it, then powers off). Called on
   * the main thread; serve each connection on its own platform thread (reads are blocking native
   * calls, which pin a virtual thread's carrier). {@code boot} (null when unknown) is reported to
   * the host in the answer to {@code hello}.
   */
  void serve(VsockListener listener, GuestControl guest, Reply.BootPhases boot) throws Exception;

  /**
   * The client half of a short conversation that runs the server's start-up paths, for the AOT
   * cache's training run: the build runs the agent on the host with {@code --train}, serves on a
   * Unix socket and talks to itself through this, so that the classes a first request needs are
   * in the cache. End the conversation so that {@link #serve} returns.
   */
  void trainingConversation(VsockConnection connection) throws IOException;
}

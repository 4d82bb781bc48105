package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.client.HybridVsock;
import run.cocoon.agent.protocol.ProtocolLimits;

/**
 * Calls to the agent of a VM that another process runs, through the VM's hybrid vsock socket in
 * the container's state directory. Each step is bounded: a guest that never answers cannot hold
 * the caller.
 */
final class AgentCalls {
  /** How long a state, start, kill or exec call waits for the agent before giving up on it. */
  static final Duration AGENT_CALL_TIMEOUT = Duration.ofSeconds(20);

  private AgentCalls() {}

  interface Call<T> {
    T call(AgentClient client) throws java.io.IOException, AgentException;
  }

  interface Step<T> {
    T run() throws java.io.IOException, AgentException;
  }

  /** The VM's hybrid vsock socket, under the container's state directory. */
  static Path socket(Path containerDir) {
    return containerDir.resolve(VmLifecycle.VM_DIR).resolve(VmLifecycle.VSOCK_SOCKET);
  }

  /** One agent call on a fresh connection. */
  static <T> T agent(Path containerDir, Call<T> call) {
    AgentClient client = connect(containerDir);
    try {
      return bounded(() -> call.call(client));
    } catch (AgentException e) {
      throw new LifecycleException("the agent refused: " + e.getMessage(), e);
    } finally {
      client.close();
    }
  }

  static AgentClient connect(Path containerDir) {
    Path socket = socket(containerDir);
    try {
      return bounded(() -> AgentClient.connect(
          HybridVsock.connector(socket, ProtocolLimits.AGENT_PORT)));
    } catch (AgentException e) {
      throw new LifecycleException("the agent refused the connection: " + e.getMessage(), e);
    }
  }

  /** Runs a step on its own thread, for at most {@link #AGENT_CALL_TIMEOUT}. */
  static <T> T bounded(Step<T> step) throws AgentException {
    CompletableFuture<T> f = new CompletableFuture<>();
    Thread.ofPlatform().daemon().name("agent-call").start(() -> {
      try {
        f.complete(step.run());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    try {
      return f.get(AGENT_CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new LifecycleException("the VM's agent did not answer within "
          + AGENT_CALL_TIMEOUT.toSeconds() + " s");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AgentException a) {
        throw a;
      }
      throw new LifecycleException("cannot reach the VM's agent: " + e.getCause().getMessage(),
          e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LifecycleException("interrupted while talking to the agent");
    }
  }
}

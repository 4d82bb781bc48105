package run.cocoon.tests.vm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import run.cocoon.agent.AgentMain;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.client.HybridVsock;

/**
 * The host side of {@link AgentBootVmTest}'s vsock boot, run beside the VMM: waits until the
 * agent listens (the VMM refuses the CONNECT until then), says hello, lists the containers (none)
 * and asks for a shutdown, printing each answer as an {@code AGENT-VSOCK} line.
 */
public final class AgentVsockClient {
  private static final long WAIT_MINUTES = 7;

  private AgentVsockClient() {}

  public static void main(String[] args) throws Exception {
    try (AgentClient client = connect(Path.of(args[0]))) {
      System.out.println("AGENT-VSOCK welcome");
      System.out.println("AGENT-VSOCK containers=" + client.list().size());
      client.shutdown();
      System.out.println("AGENT-VSOCK shutdown=ok");
    }
  }

  private static AgentClient connect(Path socket) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(WAIT_MINUTES);
    int attempts = 0;
    while (true) {
      attempts++;
      try {
        AgentClient client = AgentClient.connect(HybridVsock.connector(socket, AgentMain.PORT));
        System.out.println("AGENT-VSOCK connected after " + attempts + " attempts");
        return client;
      } catch (IOException | AgentException e) {
        if (System.nanoTime() > deadline) {
          System.out.println("AGENT-VSOCK gave up after " + attempts + " attempts: " + e.getMessage());
          System.exit(1);
        }
        Thread.sleep(500);
      }
    }
  }
}

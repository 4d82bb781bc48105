package run.cocoon.tests.vm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import run.cocoon.agent.AgentMain;
import run.cocoon.agent.client.HybridVsock;
import run.cocoon.agent.protocol.Connection;

/**
 * The host side of {@link AgentBootVmTest}'s vsock boot, run beside the VMM: waits until the
 * agent listens (the VMM refuses the CONNECT until then), reads the placeholder's ready line,
 * sends {@code poweroff} and prints both answers as {@code AGENT-VSOCK} lines.
 */
public final class AgentVsockClient {
  private static final long WAIT_MINUTES = 7;

  private AgentVsockClient() {}

  public static void main(String[] args) throws Exception {
    Path socket = Path.of(args[0]);
    try (Connection connection = connect(socket)) {
      BufferedReader in = new BufferedReader(
          new InputStreamReader(connection.input(), StandardCharsets.UTF_8));
      System.out.println("AGENT-VSOCK hello=" + in.readLine());
      connection.output().write("poweroff\n".getBytes(StandardCharsets.UTF_8));
      System.out.println("AGENT-VSOCK reply=" + in.readLine());
    }
  }

  private static Connection connect(Path socket) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(WAIT_MINUTES);
    Connection connection = null;
    int attempts = 0;
    while (connection == null) {
      attempts++;
      try {
        connection = HybridVsock.connect(socket, AgentMain.PORT);
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          System.out.println("AGENT-VSOCK gave up after " + attempts + " attempts: " + e.getMessage());
          System.exit(1);
        }
        Thread.sleep(500);
      }
    }
    System.out.println("AGENT-VSOCK connected after " + attempts + " attempts");
    return connection;
  }
}

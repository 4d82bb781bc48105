package run.cocoon.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.agent.guest.ChildProcesses;
import run.cocoon.agent.guest.GuestControl;
import run.cocoon.agent.guest.VsockConnection;
import run.cocoon.agent.guest.VsockListener;

/** The placeholder server over a Unix socket (the same listener code as vsock). */
@Timeout(60)
class PlaceholderServerTest {
  @TempDir Path dir;

  private static final GuestControl GUEST = new GuestControl() {
    private final ChildProcesses children = new ChildProcesses();

    @Override
    public void setClock(Instant now) {}

    @Override
    public void setHostname(String name) {}

    @Override
    public ChildProcesses children() {
      return children;
    }
  };

  private CompletableFuture<Void> serve(VsockListener listener) {
    return CompletableFuture.runAsync(() -> {
      try {
        new PlaceholderServer().serve(listener, GUEST);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
  }

  private static BufferedReader reader(VsockConnection c) {
    return new BufferedReader(new InputStreamReader(c.input(), StandardCharsets.UTF_8));
  }

  private static void send(VsockConnection c, String line) throws Exception {
    c.output().write((line + "\n").getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void greetsAnswersAndReturnsOnPoweroff() throws Exception {
    Path socket = dir.resolve("agent.sock");
    VsockListener listener = VsockListener.bindUnix(socket);
    CompletableFuture<Void> serving = serve(listener);
    try (VsockConnection c = VsockConnection.connectUnix(socket.toString())) {
      BufferedReader in = reader(c);
      assertEquals("cocoon-agent " + AgentMain.version() + " ready", in.readLine());
      send(c, "hello?");
      assertEquals("error unknown command", in.readLine());
      send(c, "poweroff");
      assertEquals("ok poweroff", in.readLine());
    }
    serving.get(10, TimeUnit.SECONDS); // serve() returned: the agent would power off now
  }

  @Test
  void anOverlongLineEndsOnlyThatConnection() throws Exception {
    Path socket = dir.resolve("agent.sock");
    try (VsockListener listener = VsockListener.bindUnix(socket)) {
      CompletableFuture<Void> serving = serve(listener);
      try (VsockConnection c = VsockConnection.connectUnix(socket.toString())) {
        BufferedReader in = reader(c);
        in.readLine();
        send(c, "x".repeat(PlaceholderServer.MAX_LINE_CHARS * 4));
        assertNull(in.readLine()); // closed by the server
      }
      try (VsockConnection c = VsockConnection.connectUnix(socket.toString())) {
        assertTrue(reader(c).readLine().endsWith(" ready"));
      }
      listener.close();
      serving.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theTrainingConversationEndsTheServer() throws Exception {
    Path socket = dir.resolve("agent.sock");
    PlaceholderServer server = new PlaceholderServer();
    try (VsockListener listener = VsockListener.bindUnix(socket)) {
      CompletableFuture<Void> serving = serve(listener);
      try (VsockConnection c = VsockConnection.connectUnix(socket.toString())) {
        server.trainingConversation(c);
      }
      serving.get(10, TimeUnit.SECONDS);
    }
  }
}

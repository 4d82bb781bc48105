package run.cocoon.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import run.cocoon.agent.guest.AgentConsole;
import run.cocoon.agent.guest.GuestControl;
import run.cocoon.agent.guest.VsockConnection;
import run.cocoon.agent.guest.VsockListener;

/**
 * PLACEHOLDER until the agent's protocol server exists: proves that the host reaches the agent over
 * vsock. Each connection gets one line, {@code cocoon-agent <version> ready}; the line
 * {@code poweroff} ends the guest, anything else is answered {@code error unknown command}.
 */
public final class PlaceholderServer implements AgentServer {
  /** Connections served at once; further ones are closed at once. */
  public static final int MAX_CONNECTIONS = 16;
  /** Longest command line read, in characters; a longer line ends the connection. */
  public static final int MAX_LINE_CHARS = 256;

  private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);

  @Override
  public void serve(VsockListener listener, GuestControl guest) throws IOException {
    while (true) {
      VsockConnection connection;
      try {
        connection = listener.accept();
      } catch (ClosedChannelException closed) {
        return;
      }
      if (!slots.tryAcquire()) {
        connection.close();
        continue;
      }
      Thread.ofPlatform().daemon().name("cocoon-conn").start(() -> {
        try (connection) {
          converse(connection, listener);
        } catch (IOException e) {
          AgentConsole.log("connection: " + e.getMessage());
        } finally {
          slots.release();
        }
      });
    }
  }

  private static void converse(VsockConnection connection, VsockListener listener)
      throws IOException {
    OutputStream out = connection.output();
    out.write(("cocoon-agent " + AgentMain.version() + " ready\n").getBytes(StandardCharsets.UTF_8));
    BufferedReader in = new BufferedReader(
        new InputStreamReader(connection.input(), StandardCharsets.UTF_8), MAX_LINE_CHARS);
    while (true) {
      String line = readLine(in);
      if (line == null) {
        return;
      }
      if (line.equals("poweroff")) {
        out.write("ok poweroff\n".getBytes(StandardCharsets.UTF_8));
        listener.close(); // serve() returns; the agent powers the guest off
        return;
      }
      out.write("error unknown command\n".getBytes(StandardCharsets.UTF_8));
    }
  }

  /** A line of at most {@link #MAX_LINE_CHARS} characters, or null at end of stream or beyond. */
  private static String readLine(BufferedReader in) throws IOException {
    StringBuilder line = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        return line.toString();
      }
      if (line.length() == MAX_LINE_CHARS) {
        return null;
      }
      line.append((char) c);
    }
    return null;
  }

  @Override
  public void trainingConversation(VsockConnection connection) throws IOException {
    BufferedReader in = new BufferedReader(
        new InputStreamReader(connection.input(), StandardCharsets.UTF_8));
    in.readLine();
    connection.output().write("poweroff\n".getBytes(StandardCharsets.UTF_8));
    in.readLine();
  }
}

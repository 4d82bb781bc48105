package run.cocoon.agent.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import run.cocoon.agent.protocol.Connection;

/** A Unix socket as an agent {@link Connection}, for tests that stand in for vsock. */
final class UnixConnections {
  private UnixConnections() {}

  static Connection wrap(SocketChannel ch) {
    InputStream in = Channels.newInputStream(ch);
    OutputStream out = Channels.newOutputStream(ch);
    return new Connection() {
      @Override public InputStream input() { return in; }
      @Override public OutputStream output() { return out; }
      @Override public void shutdownOutput() {
        try {
          ch.shutdownOutput();
        } catch (IOException e) {
          // closed
        }
      }
      @Override public void close() throws IOException { ch.close(); }
    };
  }
}

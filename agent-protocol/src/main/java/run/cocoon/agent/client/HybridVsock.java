package run.cocoon.agent.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import run.cocoon.agent.protocol.Connection;

/**
 * The host end of a hybrid vsock (Firecracker's scheme): connect to the VMM's Unix socket, send
 * {@code CONNECT <port>\n}, and once the VMM answers {@code OK <host port>\n} the socket is a
 * stream to the guest's listener on that vsock port.
 */
public final class HybridVsock {
  /** Longest reply line the VMM sends ("OK " and a port number). */
  static final int MAX_REPLY_BYTES = 32;

  private HybridVsock() {}

  /** A {@link Connector} for the guest's {@code port} behind the VMM socket {@code socket}. */
  public static Connector connector(Path socket, int port) {
    return () -> connect(socket, port);
  }

  /** Opens one connection to the guest's {@code port}. */
  public static Connection connect(Path socket, int port) throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      channel.connect(UnixDomainSocketAddress.of(socket));
      channel.write(ByteBuffer.wrap(("CONNECT " + port + "\n").getBytes(StandardCharsets.US_ASCII)));
      String reply = readLine(channel);
      if (!reply.startsWith("OK ")) {
        throw new IOException("vsock port " + port + " via " + socket + ": the VMM answered \""
            + reply + "\"");
      }
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e instanceof IOException io && io.getMessage() != null
          && io.getMessage().startsWith("vsock") ? io
          : new IOException("vsock port " + port + " via " + socket + ": " + e.getMessage(), e);
    }
    InputStream in = Channels.newInputStream(channel);
    OutputStream out = Channels.newOutputStream(channel);
    return new Connection() {
      @Override
      public InputStream input() {
        return in;
      }

      @Override
      public OutputStream output() {
        return out;
      }

      @Override
      public void shutdownOutput() {
        try {
          channel.shutdownOutput();
        } catch (IOException e) {
          // already closed: the peer sees EOF either way
        }
      }

      @Override
      public void close() throws IOException {
        channel.close();
      }
    };
  }

  /** Reads the handshake reply one byte at a time, so no stream byte is consumed with it. */
  private static String readLine(SocketChannel channel) throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    StringBuilder line = new StringBuilder();
    while (line.length() < MAX_REPLY_BYTES) {
      one.clear();
      if (channel.read(one) < 0) {
        throw new IOException("the VMM closed the connection during the handshake"
            + (line.isEmpty() ? " (no listener on that port?)" : ""));
      }
      char c = (char) (one.get(0) & 0xff);
      if (c == '\n') {
        return line.toString();
      }
      line.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    throw new IOException("handshake reply longer than " + MAX_REPLY_BYTES + " bytes");
  }
}

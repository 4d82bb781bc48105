package run.cocoon.vmm.virtio.vsock;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * A host program that connected to the device's Unix socket and has not finished its
 * {@code CONNECT <port>\n} line yet (Firecracker's hybrid vsock protocol). The line is read one
 * byte at a time so that bytes the program sends right after it stay in the socket for the guest.
 */
final class HostHandshake {
  /** What reading produced so far. */
  sealed interface Progress {}

  /** More bytes are needed. */
  record Incomplete() implements Progress {}

  /** A well-formed line naming this guest port. */
  record Port(int port) implements Progress {}

  /** Too long, malformed, or the program hung up: close it. */
  record Failed(String reason) implements Progress {}

  final SocketChannel channel;
  final long deadline;
  private final byte[] line;
  private int length;
  private final ByteBuffer one = ByteBuffer.allocate(1);

  HostHandshake(SocketChannel channel, long deadline, int maxLineBytes) {
    this.channel = channel;
    this.deadline = deadline;
    this.line = new byte[maxLineBytes];
  }

  /** Reads what the socket has, up to the end of the line. */
  Progress read() {
    try {
      while (true) {
        one.clear();
        int n = channel.read(one);
        if (n < 0) {
          return new Failed("closed before a CONNECT line");
        }
        if (n == 0) {
          return new Incomplete();
        }
        byte b = one.get(0);
        if (b == '\n') {
          return parse(new String(line, 0, length, StandardCharsets.US_ASCII));
        }
        if (length == line.length - 1) {
          return new Failed("CONNECT line longer than " + line.length + " bytes");
        }
        line[length++] = b;
      }
    } catch (IOException e) {
      return new Failed(e.getMessage());
    }
  }

  /** {@code CONNECT <port>}, the word in any case, whitespace-separated, as Firecracker reads it. */
  static Progress parse(String text) {
    String[] words = text.strip().split("[ \t]+");
    if (words.length != 2 || !words[0].equalsIgnoreCase("connect")) {
      return new Failed("not a CONNECT line");
    }
    OptionalLong port = parsePort(words[1]);
    return port.isPresent() ? new Port((int) port.getAsLong())
        : new Failed("bad port '" + words[1] + "'");
  }

  private static OptionalLong parsePort(String digits) {
    if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return OptionalLong.empty();
    }
    long value = Long.parseLong(digits);
    return value > 0xffff_ffffL ? OptionalLong.empty() : OptionalLong.of(value);
  }
}

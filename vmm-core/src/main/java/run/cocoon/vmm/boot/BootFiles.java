package run.cocoon.vmm.boot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import run.cocoon.vmm.memory.GuestMemory;

/** Bounded reads of the kernel and initrd files; a file that changes size midway is an error. */
final class BootFiles {
  private BootFiles() {}

  /** The size of a regular file, at most {@code maxBytes}. */
  static long size(Path path, String role, long maxBytes) throws BootException {
    try {
      if (!Files.isRegularFile(path)) {
        throw new BootException.Unreadable(role + " " + path + " is not a regular file", null);
      }
      long size = Files.size(path);
      if (size > maxBytes) {
        throw new BootException.Unreadable(role + " " + path + " is " + size
            + " bytes, more than the " + maxBytes + " we accept", null);
      }
      return size;
    } catch (IOException e) {
      throw new BootException.Unreadable("cannot read " + role + " " + path + ": " + e, e);
    }
  }

  /** The whole file, at most {@code maxBytes}. */
  static byte[] read(Path path, String role, long maxBytes) throws BootException {
    long size = size(path, role, maxBytes);
    ByteBuffer buffer = ByteBuffer.allocate((int) size);
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      fill(ch, buffer, path, role);
    } catch (IOException e) {
      throw new BootException.Unreadable("cannot read " + role + " " + path + ": " + e, e);
    }
    return buffer.array();
  }

  /** Streams exactly {@code size} bytes of the file into guest memory at {@code address}. */
  static void copyInto(Path path, String role, long size, GuestMemory memory, long address)
      throws BootException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      fill(ch, memory.slice(address, size).asByteBuffer(), path, role);
    } catch (IOException e) {
      throw new BootException.Unreadable("cannot read " + role + " " + path + ": " + e, e);
    }
  }

  private static void fill(FileChannel ch, ByteBuffer buffer, Path path, String role)
      throws IOException, BootException {
    while (buffer.hasRemaining()) {
      if (ch.read(buffer) < 0) {
        throw new BootException.Unreadable(role + " " + path + " shrank while it was read", null);
      }
    }
  }
}

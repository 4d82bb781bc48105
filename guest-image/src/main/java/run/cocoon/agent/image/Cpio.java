package run.cocoon.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A writer of the {@code newc} cpio format that the kernel unpacks as an initramfs. Every header
 * field that could vary between builds is fixed: inode numbers count up in write order, owner and
 * group are root, the modification time is {@link #MTIME}, device numbers of regular entries are 0.
 * Callers write parents before children (the kernel does not create missing directories).
 */
final class Cpio implements AutoCloseable {
  /**
   * Modification time of every entry: 2024-01-01T00:00:00Z. The kernel keeps it
   * ({@code CONFIG_INITRAMFS_PRESERVE_MTIME}), so the files the JVM checks against its AOT cache
   * look the same in every image.
   */
  static final long MTIME = 1_704_067_200L;

  static final int S_IFDIR = 0040000;
  static final int S_IFREG = 0100000;
  static final int S_IFLNK = 0120000;
  static final int S_IFCHR = 0020000;

  private final OutputStream out;
  private long written;
  private int nextInode = 1;

  Cpio(OutputStream out) {
    this.out = out;
  }

  void directory(String name, int permissions) throws IOException {
    header(name, S_IFDIR | permissions, 2, 0, 0, 0);
  }

  void file(String name, int permissions, Path source) throws IOException {
    long size = Files.size(source);
    header(name, S_IFREG | permissions, 1, size, 0, 0);
    try (InputStream in = Files.newInputStream(source)) {
      long copied = in.transferTo(out);
      if (copied != size) {
        throw new IOException(source + " changed while it was archived");
      }
      written += copied;
    }
    pad();
  }

  void file(String name, int permissions, byte[] data) throws IOException {
    header(name, S_IFREG | permissions, 1, data.length, 0, 0);
    write(data);
    pad();
  }

  void symlink(String name, String target) throws IOException {
    byte[] data = target.getBytes(StandardCharsets.UTF_8);
    header(name, S_IFLNK | 0777, 1, data.length, 0, 0);
    write(data);
    pad();
  }

  void characterDevice(String name, int permissions, int major, int minor) throws IOException {
    header(name, S_IFCHR | permissions, 1, 0, major, minor);
  }

  /** Writes the trailer entry; the stream itself is the caller's to close. */
  @Override
  public void close() throws IOException {
    header("TRAILER!!!", 0, 1, 0, 0, 0);
    out.flush();
  }

  private void header(String name, int mode, int links, long size, int rdevMajor, int rdevMinor)
      throws IOException {
    if (size > 0xffff_ffffL) {
      throw new IOException("newc cannot hold " + name + " (" + size + " bytes)");
    }
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    int inode = name.equals("TRAILER!!!") ? 0 : nextInode++;
    StringBuilder h = new StringBuilder("070701");
    for (long field : new long[] {inode, mode, 0, 0, links, MTIME, size, 0, 0, rdevMajor,
        rdevMinor, nameBytes.length + 1, 0}) {
      h.append(String.format("%08x", field));
    }
    write(h.toString().getBytes(StandardCharsets.US_ASCII));
    write(nameBytes);
    write(new byte[] {0});
    pad();
  }

  private void write(byte[] bytes) throws IOException {
    out.write(bytes);
    written += bytes.length;
  }

  /** Headers and file data start on 4-byte boundaries. */
  private void pad() throws IOException {
    while (written % 4 != 0) {
      write(new byte[] {0});
    }
  }
}

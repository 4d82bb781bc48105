package run.cocoon.kernel;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "newc" format the kernel unpacks as an initramfs, so tests need
 * neither the cpio tool nor root to create device nodes. All entries belong to root, mtime 0.
 */
final class Newc {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private long offset;
    private int nextInode = 1;
    private boolean finished;

    Newc(OutputStream out) {
        this.out = out;
    }

    Newc directory(String path, int permissions) throws IOException {
        return entry(path, S_IFDIR | permissions, 2, 0, 0, new byte[0]);
    }

    Newc file(String path, int permissions, byte[] content) throws IOException {
        return entry(path, S_IFREG | permissions, 1, 0, 0, content);
    }

    Newc symlink(String path, String target) throws IOException {
        return entry(path, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    Newc characterDevice(String path, int permissions, int major, int minor) throws IOException {
        return entry(path, S_IFCHR | permissions, 1, major, minor, new byte[0]);
    }

    /** Writes the trailer entry; the archive is complete after this. */
    void finish() throws IOException {
        entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        finished = true;
        out.flush();
    }

    private Newc entry(String path, int mode, int links, int rdevMajor, int rdevMinor, byte[] content)
            throws IOException {
        if (finished) {
            throw new IllegalStateException("archive already finished");
        }
        String name = path.startsWith("/") ? path.substring(1) : path;
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        int inode = name.equals("TRAILER!!!") ? 0 : nextInode++;
        StringBuilder header = new StringBuilder("070701");
        for (long field : new long[] {inode, mode, 0, 0, links, 0, content.length, 0, 0, rdevMajor, rdevMinor,
                nameBytes.length + 1, 0}) {
            header.append(String.format("%08x", field));
        }
        write(header.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        write(new byte[] {0});
        pad();
        write(content);
        pad();
        return this;
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        offset += bytes.length;
    }

    /** Header+name and file data each end on a 4-byte boundary. */
    private void pad() throws IOException {
        int rem = (int) (offset % 4);
        if (rem != 0) {
            write(new byte[4 - rem]);
        }
    }
}

package run.cocoon.shim.lifecycle;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Container state files: written atomically (temporary file, fsync, rename, fsync of the
 * directory) so a crash leaves the old or the new version, never half of one; read with a size
 * bound, so a corrupt file is an error and not an out-of-memory. They are 0600 (the umask can
 * only narrow that): they name processes and sockets that reach into containers.
 */
public final class StateFiles {
  /** A state file is a few hundred bytes; anything near this is corrupt. */
  public static final int MAX_STATE_BYTES = 1 << 20;

  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  public static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

  private StateFiles() {}

  public static void write(Path file, Object value) throws IOException {
    byte[] data = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp); // a crash's leftover: the new file gets PRIVATE_FILE, not its mode
    try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE), PRIVATE_FILE)) {
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException ignored) {
      // some filesystems cannot fsync a directory; the rename is still atomic
    }
  }

  public static <T> T read(Path file, Class<T> type) throws IOException {
    byte[] data;
    try (InputStream in = Files.newInputStream(file)) {
      data = in.readNBytes(MAX_STATE_BYTES + 1);
    }
    if (data.length > MAX_STATE_BYTES) {
      throw new IOException(file + " is over " + MAX_STATE_BYTES + " bytes: corrupt");
    }
    return JSON.readValue(data, type);
  }
}

package run.cocoon.container;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads small kernel files (procfs, cgroupfs). {@code Files.readString} trusts the size the file
 * reports, which these files get wrong (it read "4" from a cap_last_cap holding "40"): read them
 * as streams to EOF instead.
 */
final class ProcFiles {
  /** Most bytes read from one such file. */
  static final int MAX_BYTES = 1024 * 1024;

  private ProcFiles() {}

  static String read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return new String(in.readNBytes(MAX_BYTES), StandardCharsets.UTF_8);
    }
  }
}

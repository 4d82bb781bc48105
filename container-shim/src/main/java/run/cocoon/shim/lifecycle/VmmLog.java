package run.cocoon.shim.lifecycle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.FileHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The VMM's warnings (ports the guest kernel probes, devices it resets) describe the guest, not
 * the container: while the VM runs they go to {@link VmLifecycle#VMM_LOG} beside the console log,
 * and only errors still reach the user's stderr, which carries the container's own output.
 */
final class VmmLog implements AutoCloseable {
  private final Logger root = Logger.getLogger("");
  private final FileHandler file;
  private final Map<Handler, Level> previous = new LinkedHashMap<>();

  private VmmLog(FileHandler file) {
    this.file = file;
    for (Handler h : root.getHandlers()) {
      previous.put(h, h.getLevel());
      h.setLevel(Level.SEVERE);
    }
    root.addHandler(file);
  }

  static VmmLog to(Path path) throws IOException {
    Files.createDirectories(path.getParent());
    FileHandler f = new FileHandler(path.toString(), VmLifecycle.VMM_LOG_MAX_BYTES, 1);
    f.setFormatter(new SimpleFormatter());
    return new VmmLog(f);
  }

  @Override
  public void close() {
    root.removeHandler(file);
    file.close();
    previous.forEach(Handler::setLevel);
  }
}

package run.cocoon.agent.server;

import java.nio.file.Path;
import run.cocoon.agent.protocol.Request;

/** Makes a container's root filesystem available as a directory, and takes it away again. */
public interface RootfsProvider {
  /** Mounts (or otherwise provides) the rootfs for {@code container}; returns its directory. */
  Path prepare(String container, Request.Rootfs rootfs) throws AgentFailure;

  /** Undoes {@link #prepare}; errors are logged, not thrown. */
  void release(String container);
}

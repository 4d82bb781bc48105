package run.cocoon.agent.protocol;

import java.io.Closeable;
import java.io.InputStream;
import java.io.OutputStream;

/** One accepted stream connection (vsock in the guest, anything in tests). */
public interface Connection extends Closeable {
  InputStream input();

  OutputStream output();

  /** Half-closes the sending side, so the peer sees EOF while it can still send. */
  default void shutdownOutput() {}
}

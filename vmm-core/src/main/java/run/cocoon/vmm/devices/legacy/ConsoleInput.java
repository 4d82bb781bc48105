package run.cocoon.vmm.devices.legacy;

import java.io.IOException;
import java.io.InputStream;

/**
 * Feeds host input (e.g. stdin) into the UART's receive FIFO from a host thread. When the FIFO is
 * full this thread waits, never the vCPU.
 */
public final class ConsoleInput implements AutoCloseable {
  /** How long the pump sleeps while the guest has not drained the FIFO. */
  private static final long FULL_FIFO_BACKOFF_MILLIS = 5;

  private final Thread pump;

  public ConsoleInput(InputStream in, Serial8250 serial) {
    this.pump = Thread.ofPlatform().daemon().name("console-input").start(() -> pump(in, serial));
  }

  private static void pump(InputStream in, Serial8250 serial) {
    byte[] buf = new byte[Serial8250.RX_FIFO_BYTES];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        int done = 0;
        while (done < n) {
          done += serial.enqueueInput(buf, done, n - done);
          if (done < n) {
            Thread.sleep(FULL_FIFO_BACKOFF_MILLIS);
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      // input closed or VM ending: nothing more to feed
    }
  }

  @Override
  public void close() {
    pump.interrupt();
  }
}

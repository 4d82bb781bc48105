package run.cocoon.vmm.devices.legacy;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest console's way out: a bounded ring buffer that the vCPU fills without ever blocking
 * and a host thread drains into an output stream. When the host stops reading, the buffer fills
 * and further guest output is dropped and counted, so a guest flooding its console can neither
 * grow host memory nor stall its vCPU.
 */
public final class ConsoleOutput implements AutoCloseable {
  /** Bytes buffered between the guest and a slow host reader. */
  public static final int BUFFER_BYTES = 64 * 1024;

  private final byte[] ring = new byte[BUFFER_BYTES];
  private final OutputStream sink;
  private final Thread drainer;
  private int head;
  private int size;
  private long dropped;
  private boolean closed;

  public ConsoleOutput(OutputStream sink) {
    this.sink = sink;
    this.drainer = Thread.ofPlatform().daemon().name("console-output").start(this::drain);
  }

  /** Called by the vCPU: never blocks. */
  public synchronized void offer(byte b) {
    if (size == BUFFER_BYTES || closed) {
      dropped++;
      return;
    }
    ring[(head + size) % BUFFER_BYTES] = b;
    size++;
    if (size == 1) {
      notifyAll();
    }
  }

  /** Bytes the guest wrote that were dropped because the host did not keep up. */
  public synchronized long dropped() {
    return dropped;
  }

  private void drain() {
    byte[] chunk = new byte[4096];
    while (true) {
      int n;
      synchronized (this) {
        while (size == 0 && !closed) {
          try {
            wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (size == 0) {
          notifyAll();
          return;
        }
        n = Math.min(Math.min(size, chunk.length), BUFFER_BYTES - head);
        System.arraycopy(ring, head, chunk, 0, n);
        head = (head + n) % BUFFER_BYTES;
        size -= n;
      }
      try {
        sink.write(chunk, 0, n);
        sink.flush();
      } catch (IOException e) {
        synchronized (this) {
          closed = true; // the reader went away (EPIPE): drop the rest
          dropped += size;
          size = 0;
          notifyAll();
        }
        return;
      }
    }
  }

  /** Flushes what is buffered (waiting at most {@code millis}) and stops the drainer. */
  public void close(long millis) {
    synchronized (this) {
      closed = true;
      notifyAll();
    }
    try {
      drainer.join(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    close(2000);
  }
}

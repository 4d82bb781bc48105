package run.cocoon.vmm.virtio;

/**
 * A virtqueue the guest set up or filled in a way the device cannot serve. The guest controls
 * every value involved, so these are expected: they fail a request or stop one device, never the
 * VMM.
 */
public sealed class QueueException extends Exception
    permits QueueException.BadChain, QueueException.Broken, QueueException.BadSetup {
  private static final long serialVersionUID = 1L;

  private QueueException(String message) {
    super(message);
  }

  /**
   * One request is malformed (loop, index out of range, overflowing lengths, bad indirect table,
   * memory outside RAM). The head was consumed: return it as used with length 0 and go on.
   */
  public static final class BadChain extends QueueException {
    private static final long serialVersionUID = 1L;
    private final int head;

    BadChain(int head, String reason) {
      super("descriptor chain at head " + head + ": " + reason);
      this.head = head;
    }

    public int head() {
      return head;
    }
  }

  /**
   * The ring itself is inconsistent (avail index jumped by more than the queue size): nothing in
   * it can be trusted, the device must stop and ask for a reset.
   */
  public static final class Broken extends QueueException {
    private static final long serialVersionUID = 1L;

    Broken(String reason) {
      super(reason);
    }
  }

  /** The queue configuration cannot be activated (size, alignment, addresses). */
  public static final class BadSetup extends QueueException {
    private static final long serialVersionUID = 1L;

    BadSetup(String reason) {
      super(reason);
    }
  }
}

package run.cocoon.agent.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * Requests the host sends the agent. Constructors check every field, so a decoded request is
 * already valid as far as the protocol goes (bundle semantics are the container library's job).
 */
public sealed interface Request extends Body {
  /** First request on a control connection: the host's clock, to set the guest's. */
  record Hello(int version, long hostTimeMillis) implements Request {}

  /**
   * Creates a container; its process is set up and waits for {@link Start}.
   *
   * @param container the new container's id
   * @param spec the OCI runtime config (config.json) as JSON; {@code root.path} is ignored
   * @param rootfs where the root filesystem comes from
   * @param stdio how the process's standard streams are connected
   */
  record Create(String container, ObjectNode spec, Rootfs rootfs, Stdio stdio) implements Request {
    public Create {
      checkId("container", container);
      Objects.requireNonNull(spec, "spec");
      Objects.requireNonNull(rootfs, "rootfs");
      stdio = stdio == null ? Stdio.NONE : stdio;
    }
  }

  /**
   * A root filesystem on a guest block device.
   *
   * @param device a device node under /dev, e.g. "/dev/vdb"
   * @param readOnly mount it read-only
   * @param overlay put a writable tmpfs overlay on top (the image stays untouched)
   */
  record Rootfs(String device, boolean readOnly, boolean overlay) {
    public Rootfs {
      if (device == null || !device.matches("/dev/vd[a-z]{1,2}[0-9]{0,2}")) {
        throw new IllegalArgumentException("rootfs device must be a virtio disk like /dev/vdb, got "
            + (device == null ? "nothing" : "\"" + Printable.clip(device) + "\""));
      }
    }
  }

  /**
   * @param terminal give the process a pseudo-terminal (one stream, "tty")
   * @param stdin the host will attach standard input
   */
  record Stdio(boolean terminal, boolean stdin) {
    public static final Stdio NONE = new Stdio(false, false);
  }

  /** Starts a created container's process. */
  record Start(String container) implements Request {
    public Start {
      checkId("container", container);
    }
  }

  /** Waits until the container's process (or exec {@code exec}, if given) exits. */
  record Wait(String container, String exec) implements Request {
    public Wait {
      checkId("container", container);
      checkOptionalId("exec", exec);
    }
  }

  /** Sends {@code signal} to the container's process, an exec, or (all) every process in it. */
  record Signal(String container, String exec, int signal, boolean all) implements Request {
    /** Highest signal number Linux has (SIGRTMAX). */
    public static final int MAX_SIGNAL = 64;

    public Signal {
      checkId("container", container);
      checkOptionalId("exec", exec);
      if (signal < 1 || signal > MAX_SIGNAL) {
        throw new IllegalArgumentException("signal must be 1.." + MAX_SIGNAL + ", got " + signal);
      }
    }
  }

  /** Runs another process in a running container; {@code process} is an OCI "process" object. */
  record Exec(String container, String exec, ObjectNode process, Stdio stdio) implements Request {
    public Exec {
      checkId("container", container);
      checkId("exec", exec);
      Objects.requireNonNull(process, "process");
      stdio = stdio == null ? Stdio.NONE : stdio;
    }
  }

  /** Resource usage of a container. */
  record Stats(String container) implements Request {
    public Stats {
      checkId("container", container);
    }
  }

  /** Every container the agent knows. */
  record ListContainers() implements Request {}

  /** Removes a stopped container (or, with force, kills it first). */
  record Delete(String container, boolean force) implements Request {
    public Delete {
      checkId("container", container);
    }
  }

  /** Stops everything and powers the VM off after the reply. */
  record Shutdown() implements Request {}

  /**
   * The first and only frame of a stdio connection: after the agent's {@code ok} the connection
   * carries the raw bytes of one stream of the container's process (or exec's), with the
   * transport's own flow control as back-pressure.
   */
  record Attach(String container, String exec, Stream stream) implements Request {
    public Attach {
      checkId("container", container);
      checkOptionalId("exec", exec);
      Objects.requireNonNull(stream, "stream");
    }
  }

  /** Which standard stream a stdio connection carries. */
  enum Stream {
    STDIN, STDOUT, STDERR,
    /** Both directions of a pseudo-terminal. */
    TTY
  }

  /** New size of a process's pseudo-terminal. */
  record Resize(String container, String exec, int rows, int columns) implements Request {
    /** Largest terminal dimension accepted. */
    public static final int MAX_DIMENSION = 10_000;

    public Resize {
      checkId("container", container);
      checkOptionalId("exec", exec);
      if (rows < 1 || rows > MAX_DIMENSION || columns < 1 || columns > MAX_DIMENSION) {
        throw new IllegalArgumentException("terminal size " + rows + "x" + columns
            + " is out of range");
      }
    }
  }

  private static void checkId(String field, String id) {
    if (!Ids.valid(id)) {
      throw new IllegalArgumentException(field + " must match " + Ids.PATTERN.pattern() + ", got "
          + (id == null ? "nothing" : "\"" + Printable.clip(id) + "\""));
    }
  }

  private static void checkOptionalId(String field, String id) {
    if (id != null) {
      checkId(field, id);
    }
  }
}

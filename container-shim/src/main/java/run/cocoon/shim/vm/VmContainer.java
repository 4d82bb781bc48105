package run.cocoon.shim.vm;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import run.cocoon.agent.client.AgentClient;
import run.cocoon.agent.client.AgentException;
import run.cocoon.agent.client.HybridVsock;
import run.cocoon.agent.protocol.Connection;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.vmm.MicroVm;
import run.cocoon.vmm.VirtioSpec;
import run.cocoon.vmm.VmConfig;
import run.cocoon.vmm.VmEnd;
import run.cocoon.vmm.boot.BootException;

/**
 * One container in its own microVM: the VMM boots our kernel with the agent's image, the
 * container's rootfs as a read-only disk ({@code /dev/vda}, with a writable overlay in the guest)
 * and a vsock for control and stdio; the agent creates the container, the host streams its stdio
 * and learns its exit status, then the VM powers off.
 */
public final class VmContainer implements AutoCloseable {
  /** Guest CID of every container VM (each VM has its own vsock device, so they never clash). */
  public static final long GUEST_CID = 3;
  /**
   * How long the agent may take to come up; the nested test box needs far more than hardware
   * (168 s to the agent's ready line was seen there on a host with a load average of 12).
   */
  public static final Duration AGENT_READY_TIMEOUT = Duration.ofMinutes(5);
  /** First pause between connection attempts while the agent boots; doubled after each miss. */
  static final long CONNECT_RETRY_MILLIS = 20;
  /**
   * Longest pause between connection attempts. Each attempt costs the VMM's vsock worker and
   * this thread a handshake; polling at the first pause for a minute under emulation took CPU
   * the booting guest needed.
   */
  static final long CONNECT_RETRY_MAX_MILLIS = 100;
  /** How long the VM gets to power off after the agent was told to shut down. */
  public static final Duration POWER_OFF_TIMEOUT = Duration.ofSeconds(30);
  /** Bytes of the console log quoted when the VM fails before the agent answers. */
  static final int CONSOLE_TAIL_BYTES = 4096;

  /**
   * What to run.
   *
   * @param id container id (also the agent's)
   * @param spec the OCI config; its root is replaced by the disk
   * @param rootfsDisk the image as an ext4 disk, attached read-only
   * @param stateDir a private directory for the vsock socket and the console log
   */
  public record Spec(String id, ObjectNode spec, Path rootfsDisk, int cpus, long memoryBytes,
      boolean stdin, boolean tty, List<VirtioSpec> extraDevices, Path stateDir) {
    public Spec {
      extraDevices = List.copyOf(extraDevices);
    }
  }

  private final Spec spec;
  private final Timing timing;
  private final MicroVm vm;
  private final CompletableFuture<VmEnd> end = new CompletableFuture<>();
  private final List<Thread> pumps = new ArrayList<>();
  private AgentClient client;

  /**
   * Time stamps of the phases, for {@code -Dcocoon.timing}: host clock for what the host sees,
   * plus the guest's own split of its boot, which the agent reports in its hello answer.
   */
  public static final class Timing {
    final long start = System.nanoTime();
    /** This process's start to {@link #start}: the JVM, the CLI, the image and its disk. */
    final long processMillis = ProcessHandle.current().info().startInstant()
        .map(i -> System.currentTimeMillis() - i.toEpochMilli()).orElse(-1L);
    long vmBuilt;
    long agentReady;
    long created;
    long firstOutput;
    long exited;
    long closed;
    /** The guest's own split of "boot to agent" (guest clock), from the agent's hello answer. */
    Reply.BootPhases guest;

    private static String ms(long from, long to) {
      return to == 0 ? "-" : (to - from) / 1_000_000 + " ms";
    }

    private static String ms(long millis) {
      return millis < 0 ? "-" : millis + " ms";
    }

    @Override
    public String toString() {
      Reply.BootPhases g = guest == null ? new Reply.BootPhases(-1, -1, -1) : guest;
      return "process start " + ms(processMillis) + ", vm build " + ms(start, vmBuilt)
          + ", boot to agent " + ms(vmBuilt, agentReady) + " (guest kernel to /init "
          + ms(g.kernelMillis()) + ", guest JVM start " + ms(g.jvmMillis()) + ", agent init "
          + ms(g.agentInitMillis()) + "), container create " + ms(agentReady, created)
          + ", first output " + ms(created, firstOutput) + ", to exit " + ms(created, exited)
          + ", teardown " + ms(exited, closed) + ", total to exit " + ms(start, exited);
    }
  }

  private VmContainer(Spec spec, Timing timing, MicroVm vm) {
    this.spec = spec;
    this.timing = timing;
    this.vm = vm;
  }

  /** Boots the VM and waits for the agent; the container is created by {@link #create}. */
  public static VmContainer boot(Spec spec) throws IOException {
    Timing timing = new Timing();
    Files.createDirectories(spec.stateDir());
    Path socket = spec.stateDir().resolve("vsock.sock");
    Files.deleteIfExists(socket);
    List<VirtioSpec> devices = new ArrayList<>();
    devices.add(new VirtioSpec.Disk(spec.rootfsDisk(), true, "rootfs"));
    devices.addAll(spec.extraDevices());
    devices.add(new VirtioSpec.Vsock(GUEST_CID, socket));
    VmConfig config = new VmConfig(GuestArtifacts.kernel(), Optional.of(GuestArtifacts.guestImage()),
        VmConfig.DEFAULT_CMDLINE + " quiet cocoon.time=" + System.currentTimeMillis(),
        spec.cpus(), spec.memoryBytes(), devices);
    OutputStream console = Files.newOutputStream(spec.stateDir().resolve("console.log"));
    MicroVm vm;
    try {
      vm = MicroVm.create(config, console, null);
    } catch (BootException e) {
      console.close();
      throw new IOException("cannot boot the guest: " + e.getMessage(), e);
    }
    timing.vmBuilt = System.nanoTime();
    VmContainer c = new VmContainer(spec, timing, vm);
    Thread.ofPlatform().name("vm-" + spec.id()).start(() -> {
      try {
        c.end.complete(vm.run());
      } catch (Throwable t) {
        c.end.completeExceptionally(t);
      } finally {
        try {
          console.close();
        } catch (IOException e) {
          // the log is best effort
        }
      }
    });
    try {
      c.client = c.connect(socket);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    timing.agentReady = System.nanoTime();
    timing.guest = c.client.welcome().boot();
    return c;
  }

  private AgentClient connect(Path socket) throws IOException {
    long deadline = System.nanoTime() + AGENT_READY_TIMEOUT.toNanos();
    long pause = CONNECT_RETRY_MILLIS;
    IOException last = null;
    while (System.nanoTime() < deadline) {
      if (end.isDone()) {
        throw new IOException("the VM ended before its agent answered: " + describeEnd()
            + consoleTail());
      }
      if (Files.exists(socket)) {
        try {
          return AgentClient.connect(HybridVsock.connector(socket, ProtocolLimits.AGENT_PORT));
        } catch (IOException e) {
          last = e; // the agent is not listening yet
        } catch (AgentException e) {
          throw new IOException("the agent refused the connection: " + e.getMessage(), e);
        }
      }
      try {
        Thread.sleep(pause);
        pause = Math.min(2 * pause, CONNECT_RETRY_MAX_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while the guest booted", e);
      }
    }
    throw new IOException("the agent did not answer within " + AGENT_READY_TIMEOUT.toSeconds()
        + " s" + (last == null ? "" : " (" + last.getMessage() + ")") + consoleTail());
  }

  private String describeEnd() {
    try {
      return end.getNow(null) == null ? "still running" : end.get().describe();
    } catch (InterruptedException | ExecutionException e) {
      return "failed: " + e.getCause();
    }
  }

  /** The end of the console log, for errors while the guest boots; empty if unreadable. */
  private String consoleTail() {
    String all;
    try {
      all = new String(Files.readAllBytes(spec.stateDir().resolve("console.log")),
          java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
    int from = Math.max(0, all.length() - CONSOLE_TAIL_BYTES);
    return all.isEmpty() ? "" : "\n--- guest console (last " + (all.length() - from)
        + " characters) ---\n" + all.substring(from);
  }

  /**
   * Creates and starts the container with its stdio connected to the given streams ({@code in}
   * only with stdin; a terminal carries everything over {@code in} and {@code out}).
   */
  public void start(InputStream in, OutputStream out, OutputStream err)
      throws IOException, AgentException {
    create(in, out, err);
    client.start(spec.id());
  }

  /**
   * Creates the container and connects its stdio like {@link #start}, but leaves its process
   * waiting for a {@code start} request (which another agent client, e.g. a later
   * {@code cocoon-runtime start}, may send).
   */
  public void create(InputStream in, OutputStream out, OutputStream err)
      throws IOException, AgentException {
    client.create(spec.id(), spec.spec(), new Request.Rootfs("/dev/vda", true, true),
        new Request.Stdio(spec.tty(), spec.stdin()));
    timing.created = System.nanoTime();
    if (spec.tty()) {
      Connection tty = client.attach(spec.id(), null, Request.Stream.TTY);
      pumps.add(copy("tty-out", tty.input(), out, tty, true));
      if (in != null) {
        copyIn(in, tty);
      }
    } else {
      Connection o = client.attach(spec.id(), null, Request.Stream.STDOUT);
      Connection e = client.attach(spec.id(), null, Request.Stream.STDERR);
      pumps.add(copy("stdout", o.input(), out, o, true));
      pumps.add(copy("stderr", e.input(), err, e, true));
      if (spec.stdin() && in != null) {
        copyIn(in, client.attach(spec.id(), null, Request.Stream.STDIN));
      }
    }
  }

  private Thread copy(String name, InputStream from, OutputStream to, Connection c,
      boolean marksFirstOutput) {
    return Thread.ofPlatform().daemon().name(spec.id() + "-" + name).start(() -> {
      byte[] buf = new byte[16384];
      try (c) {
        int n;
        while ((n = from.read(buf)) > 0) {
          if (marksFirstOutput && timing.firstOutput == 0) {
            timing.firstOutput = System.nanoTime();
          }
          to.write(buf, 0, n);
          to.flush();
        }
      } catch (IOException e) {
        // the stream ended with the connection
      }
    });
  }

  /** Host stdin to the container until EOF, then half-close so the container sees EOF too. */
  private void copyIn(InputStream in, Connection c) {
    Thread.ofPlatform().daemon().name(spec.id() + "-stdin").start(() -> {
      try {
        in.transferTo(c.output());
        c.output().flush();
      } catch (IOException e) {
        // the container closed its stdin or ended
      }
      c.shutdownOutput();
    });
  }

  /** Waits for the container's process to end and its output to drain. */
  public Reply.Exited waitFor() throws IOException, AgentException, InterruptedException {
    Reply.Exited exited = client.waitFor(spec.id(), null);
    for (Thread t : pumps) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    timing.exited = System.nanoTime();
    return exited;
  }

  /** Forwards a signal to the container's process. */
  public void signal(int signal) throws IOException, AgentException {
    client.signal(spec.id(), null, signal, false);
  }

  /** The agent connection, for more containers or execs in the same VM. */
  public AgentClient agent() {
    return client;
  }

  public Timing timing() {
    return timing;
  }

  /**
   * Stops the VM from the host at once, without asking the agent: for a VM whose guest holds
   * nothing worth a clean power-off (its container has ended; the disk is read-only).
   */
  public void stopNow(String why) {
    if (client != null) {
      client.close();
      client = null;
    }
    vm.stop(why);
    close();
  }

  /** Shuts the agent and the VM down; the VM is stopped from the host if it does not power off. */
  @Override
  public void close() {
    if (client != null) {
      try {
        client.shutdown();
      } catch (IOException | AgentException e) {
        // the VM is stopped below either way
      }
      client.close();
    }
    try {
      end.get(POWER_OFF_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      vm.stop("the guest did not power off");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      vm.stop("interrupted");
    }
    vm.close();
    timing.closed = System.nanoTime();
    try {
      Files.deleteIfExists(spec.stateDir().resolve("vsock.sock"));
    } catch (IOException e) {
      // a stale socket is replaced next time
    }
  }
}

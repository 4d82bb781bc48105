package run.cocoon.agent.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import run.cocoon.agent.protocol.Codec;
import run.cocoon.agent.protocol.ProtocolLimits;
import run.cocoon.agent.protocol.Reply;
import run.cocoon.agent.protocol.Request;
import run.cocoon.container.CgroupStats;
import run.cocoon.container.ConsoleSocket;
import run.cocoon.container.Container;
import run.cocoon.container.ContainerException;
import run.cocoon.container.ContainerId;
import run.cocoon.container.ContainerProcess;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.InvalidSpecException;
import run.cocoon.container.OciSpec;
import run.cocoon.container.SpecValidator;
import run.cocoon.container.Stdio;

/**
 * The agent's containers, made with the same container library the host uses in container mode,
 * so the isolation choice changes what is under a container, never what it sees.
 */
public final class GuestContainers implements ContainerBackend {
  private static final System.Logger LOG = System.getLogger(GuestContainers.class.getName());
  /** Terminal size until the host sends a resize. */
  static final int DEFAULT_ROWS = 24;
  static final int DEFAULT_COLUMNS = 80;

  private final java.util.function.Supplier<ContainerRuntime> runtimes;
  private volatile ContainerRuntime runtime;
  private final RootfsProvider rootfs;
  private final Map<String, Entry> containers = new ConcurrentHashMap<>();

  /** One container and the processes exec'd into it. */
  private static final class Entry {
    final String id;
    volatile Container container;
    final Map<String, ContainerProcess> execs = new ConcurrentHashMap<>();
    /** Streams already attached, per process ("" is the container's own). */
    final Map<String, Set<Request.Stream>> attached = new ConcurrentHashMap<>();
    /** Whether each process has a terminal, by the same keys. */
    final Map<String, Boolean> terminals = new ConcurrentHashMap<>();
    /** The container's own terminal (a pty of its devpts), if it has one. */
    volatile ConsoleSocket.Terminal terminal;

    Entry(String id) {
      this.id = id;
    }
  }

  public GuestContainers(ContainerRuntime runtime, RootfsProvider rootfs) {
    this(() -> runtime, rootfs);
  }

  /**
   * With the runtime (spawn helper, cgroup layout) looked up at the first container, so an agent
   * that never makes one (the image's training run on the build host) needs neither.
   */
  public GuestContainers(java.util.function.Supplier<ContainerRuntime> runtimes,
      RootfsProvider rootfs) {
    this.runtimes = runtimes;
    this.rootfs = rootfs;
  }

  private ContainerRuntime runtime() {
    ContainerRuntime r = runtime;
    if (r == null) {
      synchronized (this) {
        if (runtime == null) {
          runtime = runtimes.get();
        }
        r = runtime;
      }
    }
    return r;
  }

  @Override
  public long create(Request.Create request) throws AgentFailure {
    String id = request.container();
    if (containers.size() >= ProtocolLimits.MAX_CONTAINERS) {
      throw new AgentFailure(Reply.Code.LIMIT, "the agent runs at most "
          + ProtocolLimits.MAX_CONTAINERS + " containers");
    }
    Entry entry = new Entry(id);
    if (containers.putIfAbsent(id, entry) != null) {
      throw new AgentFailure(Reply.Code.EXISTS, "container " + id + " exists");
    }
    boolean done = false;
    try {
      OciSpec spec = parse(request.spec());
      Path root = rootfs.prepare(id, request.rootfs());
      spec = new OciSpec(spec.ociVersion(), spec.process(),
          new OciSpec.Root(root.toString(), spec.root() != null && spec.root().readonly()),
          spec.hostname(), spec.mounts(), spec.linux(), spec.annotations());
      var config = SpecValidator.validate(spec, root.getParent());
      Container c;
      if (request.stdio().terminal()) {
        // A pty of the container's own devpts (ttyname works inside), as on the host.
        Path dir = Files.createTempDirectory("cocoon-console-");
        try (ConsoleSocket.Listener console = ConsoleSocket.Listener.bind(dir.resolve("console.sock"))) {
          c = Container.create(new ContainerId(id), config, Stdio.consoleSocket(console.path()),
              runtime());
          try {
            entry.terminal = console.receive(DEFAULT_ROWS, DEFAULT_COLUMNS);
          } catch (RuntimeException ex) {
            c.close();
            throw ex;
          }
        } finally {
          Files.deleteIfExists(dir);
        }
      } else {
        c = Container.create(new ContainerId(id), config, Stdio.pipes(), runtime());
      }
      if (!request.stdio().stdin() && !request.stdio().terminal()) {
        closeQuietly(c.init().stdin());
      }
      entry.terminals.put("", request.stdio().terminal());
      entry.container = c;
      done = true;
      return c.pid();
    } catch (InvalidSpecException e) {
      throw new AgentFailure(Reply.Code.INVALID, e.getMessage());
    } catch (ContainerException | IllegalArgumentException | IOException e) {
      throw new AgentFailure(Reply.Code.FAILED, "create " + id + ": " + e.getMessage(), e);
    } finally {
      if (!done) {
        containers.remove(id);
        rootfs.release(id);
      }
    }
  }

  private static OciSpec parse(ObjectNode spec) throws AgentFailure {
    try {
      return OciSpec.parse(Codec.json().writeValueAsBytes(spec));
    } catch (IOException e) {
      throw new AgentFailure(Reply.Code.INVALID, "spec: " + e.getMessage());
    }
  }

  private Entry find(String id) throws AgentFailure {
    Entry e = containers.get(id);
    if (e == null || e.container == null) {
      throw new AgentFailure(Reply.Code.NOT_FOUND, "no container " + id);
    }
    return e;
  }

  private ContainerProcess process(Entry e, String exec) throws AgentFailure {
    if (exec == null) {
      return e.container.init();
    }
    ContainerProcess p = e.execs.get(exec);
    if (p == null) {
      throw new AgentFailure(Reply.Code.NOT_FOUND, "no exec " + exec + " in container " + e.id);
    }
    return p;
  }

  @Override
  public void start(String container) throws AgentFailure {
    Entry e = find(container);
    try {
      e.container.start();
    } catch (IllegalStateException ex) {
      throw new AgentFailure(Reply.Code.BAD_STATE, ex.getMessage());
    } catch (ContainerException ex) {
      throw new AgentFailure(Reply.Code.FAILED, "start " + container + ": " + ex.getMessage(), ex);
    }
  }

  @Override
  public Reply.Exited waitFor(String container, String exec) throws AgentFailure {
    Entry e = find(container);
    ExitStatus s = exec == null ? e.container.waitFor() : process(e, exec).waitFor();
    return switch (s) {
      case ExitStatus.Exited x -> new Reply.Exited(x.code(), 0, x.oomKilled());
      case ExitStatus.Signaled x -> new Reply.Exited(x.shellCode(), x.signal(), x.oomKilled());
    };
  }

  @Override
  public void signal(String container, String exec, int signal, boolean all) throws AgentFailure {
    Entry e = find(container);
    if (all) {
      e.container.signalAll(signal);
    } else if (!process(e, exec).signal(signal)) {
      throw new AgentFailure(Reply.Code.BAD_STATE, "the process has ended");
    }
  }

  @Override
  public long exec(Request.Exec request) throws AgentFailure {
    Entry e = find(request.container());
    if (e.execs.size() + 1 >= ProtocolLimits.MAX_PROCESSES_PER_CONTAINER) {
      throw new AgentFailure(Reply.Code.LIMIT, "at most "
          + ProtocolLimits.MAX_PROCESSES_PER_CONTAINER + " processes per container");
    }
    if (e.execs.containsKey(request.exec())) {
      throw new AgentFailure(Reply.Code.EXISTS, "exec " + request.exec() + " exists");
    }
    try {
      // Parsed the way config.json is, with the same defaults for absent fields.
      ObjectNode wrapper = Codec.json().createObjectNode();
      wrapper.set("process", request.process());
      OciSpec.Process p = OciSpec.parse(Codec.json().writeValueAsBytes(wrapper)).process();
      var config = SpecValidator.validateProcess(p, "process");
      Stdio stdio = request.stdio().terminal() ? Stdio.terminal(DEFAULT_ROWS, DEFAULT_COLUMNS)
          : Stdio.pipes();
      ContainerProcess process = e.container.exec(config, stdio);
      if (!request.stdio().stdin() && !request.stdio().terminal()) {
        closeQuietly(process.stdin());
      }
      e.terminals.put(request.exec(), request.stdio().terminal());
      if (e.execs.putIfAbsent(request.exec(), process) != null) {
        process.signal(9);
        process.close();
        throw new AgentFailure(Reply.Code.EXISTS, "exec " + request.exec() + " exists");
      }
      return process.pid();
    } catch (IOException | InvalidSpecException ex) {
      throw new AgentFailure(Reply.Code.INVALID, "process: " + ex.getMessage());
    } catch (IllegalStateException ex) {
      throw new AgentFailure(Reply.Code.BAD_STATE, ex.getMessage());
    } catch (ContainerException | IllegalArgumentException ex) {
      throw new AgentFailure(Reply.Code.FAILED, "exec: " + ex.getMessage(), ex);
    }
  }

  @Override
  public Reply.Statistics stats(String container) throws AgentFailure {
    Entry e = find(container);
    try {
      CgroupStats s = e.container.stats();
      Long limit = e.container.config().resources().memoryLimit();
      return new Reply.Statistics(s.memoryBytes(), limit == null ? 0 : limit, s.cpuNanos(), s.pids());
    } catch (ContainerException ex) {
      throw new AgentFailure(Reply.Code.FAILED, "stats: " + ex.getMessage(), ex);
    }
  }

  @Override
  public List<Reply.ContainerInfo> list() {
    List<Reply.ContainerInfo> out = new ArrayList<>();
    for (Entry e : containers.values()) {
      Container c = e.container;
      if (c != null) {
        out.add(new Reply.ContainerInfo(e.id, c.state().name().toLowerCase(), c.pid()));
      }
    }
    out.sort(java.util.Comparator.comparing(Reply.ContainerInfo::id));
    return out;
  }

  @Override
  public void delete(String container, boolean force) throws AgentFailure {
    Entry e = find(container);
    if (!force && e.container.state() == Container.State.RUNNING) {
      throw new AgentFailure(Reply.Code.BAD_STATE, "container " + container
          + " is running (stop it first, or delete with force)");
    }
    if (!containers.remove(container, e)) {
      throw new AgentFailure(Reply.Code.NOT_FOUND, "no container " + container);
    }
    destroy(e);
  }

  private void destroy(Entry e) {
    for (ContainerProcess p : e.execs.values()) {
      p.signal(9);
      p.close();
    }
    try {
      e.container.delete();
    } catch (ContainerException ex) {
      LOG.log(Level.WARNING, "deleting " + e.id + ": " + ex.getMessage());
    }
    rootfs.release(e.id);
  }

  @Override
  public void resize(String container, String exec, int rows, int columns) throws AgentFailure {
    find(container);
    throw new AgentFailure(Reply.Code.UNSUPPORTED, "terminal resize is not supported yet");
  }

  @Override
  public void attach(String container, String exec, Request.Stream stream, StdioChannel channel)
      throws AgentFailure, IOException {
    Entry e = find(container);
    ContainerProcess p = process(e, exec);
    String key = exec == null ? "" : exec;
    boolean terminal = Boolean.TRUE.equals(e.terminals.get(key));
    if ((stream == Request.Stream.TTY) != terminal) {
      throw new AgentFailure(Reply.Code.INVALID, "a process " + (terminal ? "with" : "without")
          + " a terminal has no " + stream + " stream");
    }
    Set<Request.Stream> taken = e.attached.computeIfAbsent(key,
        k -> java.util.Collections.synchronizedSet(EnumSet.noneOf(Request.Stream.class)));
    if (!taken.add(stream)) {
      throw new AgentFailure(Reply.Code.BAD_STATE, stream + " is already attached");
    }
    channel.ready();
    switch (stream) {
      case STDOUT -> pumpOut(p.stdout(), channel);
      case STDERR -> pumpOut(p.stderr(), channel);
      case STDIN -> pumpIn(channel.input(), p.stdin());
      case TTY -> {
        // The container's own terminal came over its console socket; an exec's is the library's.
        ConsoleSocket.Terminal own = exec == null ? e.terminal : null;
        InputStream screen = own != null ? own.output() : p.stdout();
        OutputStream keyboard = own != null ? own.input() : p.stdin();
        Thread input = Thread.ofPlatform().daemon().name("agent-tty-in").start(() -> {
          try {
            pumpIn(channel.input(), keyboard);
          } catch (IOException ex) {
            LOG.log(Level.DEBUG, "tty input ended: " + ex.getMessage());
          }
        });
        pumpOut(screen, channel);
        input.interrupt();
      }
    }
  }

  private static void pumpOut(InputStream from, StdioChannel channel) throws IOException {
    try (from) {
      from.transferTo(channel.output());
    } catch (IOException e) {
      // A pty master reads EIO once the process side is gone: that is its EOF.
      LOG.log(Level.DEBUG, "output stream ended: " + e.getMessage());
    }
    channel.output().flush();
    channel.endOutput();
  }

  private static void pumpIn(InputStream from, OutputStream to) throws IOException {
    try (to) {
      from.transferTo(to);
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (IOException e) {
      // nothing to do
    }
  }

  @Override
  public void stopAll() {
    for (String id : List.copyOf(containers.keySet())) {
      Entry e = containers.remove(id);
      if (e != null && e.container != null) {
        destroy(e);
      }
    }
  }
}

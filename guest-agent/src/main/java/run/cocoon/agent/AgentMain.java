package run.cocoon.agent;

import run.cocoon.agent.guest.AgentConsole;
import run.cocoon.agent.guest.GuestLibc;
import run.cocoon.agent.guest.KernelCommandLine;
import run.cocoon.agent.guest.Pid1;
import run.cocoon.agent.guest.Uptime;
import run.cocoon.agent.guest.VsockListener;
import run.cocoon.agent.protocol.Reply;

/**
 * The guest agent: PID 1 of the guest. Sets the guest up ({@link Pid1}), listens on vsock port
 * {@link #PORT}, prints the ready marker with boot timings, and serves until told to end; then, or
 * on any fatal error (printed first), it powers the guest off. It never returns or exits: the death
 * of PID 1 would panic the kernel.
 *
 * <p>{@code --train} runs the start-up paths on a build host instead, without touching it (see
 * {@link Training}): the image build records the AOT cache from that run.
 */
public final class AgentMain {
  /** The vsock port the host connects to. */
  public static final int PORT = 1024;
  /** System property the image's {@code /init} sets: uptime when it ran, in seconds ("1.23"). */
  public static final String INIT_UPTIME_PROPERTY = "cocoon.boot.init-uptime";

  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("--train")) {
      Training.run(server());
      return;
    }
    if (ProcessHandle.current().pid() != 1) {
      // Everything below mounts, sets clocks and powers off: never on a machine by accident.
      System.err.println("cocoon-agent: not PID 1; this program is the guest's init (or --train)");
      System.exit(2);
    }
    boot();
  }

  private static void boot() {
    long mainUptime = Uptime.millis();
    long mainNanos = System.nanoTime();
    KernelCommandLine cmdline = null;
    try {
      cmdline = KernelCommandLine.read();
      GuestLibc.link();
      long linkedNanos = System.nanoTime();
      Pid1 pid1 = Pid1.boot(cmdline);
      long setupNanos = System.nanoTime();
      KernelCommandLine bootLine = cmdline;
      Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
        AgentConsole.log("uncaught in " + thread.getName(), e);
        if (e instanceof VirtualMachineError) {
          Pid1.powerOff("fatal error in " + thread.getName(), bootLine);
        }
      });
      pid1.warnings().forEach(AgentConsole::log);
      VsockListener listener = VsockListener.bind(PORT);
      Reply.BootPhases boot = printTimings(mainUptime, mainNanos, linkedNanos, setupNanos);
      if (cmdline.value(KernelCommandLine.SELFTEST).filter("poweroff"::equals).isPresent()) {
        listener.close();
        SelfTest.report(pid1);
        pid1.powerOff("self-test done");
      }
      server().serve(listener, pid1, boot);
      pid1.powerOff("server finished");
    } catch (Throwable t) {
      AgentConsole.log("fatal", t);
      Pid1.powerOff("fatal error", cmdline);
    }
  }

  /**
   * {@code ready in N ms (jvm M ms)}: N since the kernel started, M from {@code /init} to the
   * agent's {@code main}; then the phases, the agent's own split into linking the libc calls,
   * the PID-1 setup and the rest (listening). Returns the phases for the host's {@code hello}.
   */
  private static Reply.BootPhases printTimings(long mainUptime, long mainNanos, long linkedNanos,
      long setupNanos) {
    long readyUptime = Uptime.millis();
    long now = System.nanoTime();
    String init = System.getProperty(INIT_UPTIME_PROPERTY);
    long initUptime = init == null ? -1 : Uptime.parseMillis(init);
    long jvmMillis = initUptime < 0 ? -1 : mainUptime - initUptime;
    AgentConsole.log("ready in " + readyUptime + " ms (jvm " + jvmMillis + " ms)");
    AgentConsole.log("timings kernel-to-init=" + initUptime + "ms jvm-start=" + jvmMillis
        + "ms agent-init=" + millis(mainNanos, now) + "ms ready=" + readyUptime
        + "ms libc-link=" + millis(mainNanos, linkedNanos) + "ms setup="
        + millis(linkedNanos, setupNanos) + "ms listen=" + millis(setupNanos, now)
        + "ms vm-info=" + System.getProperty("java.vm.info").replace(' ', '_'));
    return new Reply.BootPhases(initUptime, jvmMillis, millis(mainNanos, now));
  }

  private static long millis(long fromNanos, long toNanos) {
    return (toNanos - fromNanos) / 1_000_000;
  }

  /** The request server: the agent protocol over vsock, containers from the shared library. */
  static AgentServer server() {
    return new run.cocoon.agent.server.VsockAgentServer();
  }

  /** The agent's version, from its jar's manifest. */
  public static String version() {
    String v = AgentMain.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}

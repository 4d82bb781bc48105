package run.cocoon.agent.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the agent does as the guest's PID 1 before it serves: the standard file systems, cgroup v2
 * controllers, the loopback interface, host name and clock, a reaper for orphaned zombies; and
 * the one way the guest ends, {@link #powerOff}.
 *
 * <p>The image's {@code /init} mounts {@code /proc} before it starts the JVM (the JVM reads it at
 * start-up, and the boot time is taken from it); every mount here is skipped when its target is
 * already a mount point, so the setup is the same whoever mounted what.
 */
public final class Pid1 implements GuestControl {
  /** The agent's host name when the command line names none. */
  public static final String DEFAULT_HOSTNAME = "cocoon";

  private final KernelCommandLine cmdline;
  private final ChildProcesses children = new ChildProcesses();
  private final List<String> warnings = new ArrayList<>();
  private OrphanReaper reaper;

  private Pid1(KernelCommandLine cmdline) {
    this.cmdline = cmdline;
  }

  /**
   * Sets the guest up. A step that cannot work is fatal (no {@code /proc}, no {@code /dev}); one
   * that only costs a feature (a cgroup controller the kernel lacks) is a {@linkplain #warnings()
   * warning}.
   */
  public static Pid1 boot(KernelCommandLine cmdline) throws IOException {
    Pid1 pid1 = new Pid1(cmdline);
    pid1.mountAll();
    pid1.enableControllers();
    GuestLibc.interfaceUp("lo");
    pid1.setHostname(cmdline.value(KernelCommandLine.HOSTNAME).orElse(DEFAULT_HOSTNAME));
    cmdline.hostTime().ifPresent(pid1::advanceClockTo);
    pid1.reaper = OrphanReaper.start(pid1.children);
    return pid1;
  }

  /** Problems that did not stop the boot, for the console. */
  public List<String> warnings() {
    return List.copyOf(warnings);
  }

  public KernelCommandLine cmdline() {
    return cmdline;
  }

  @Override
  public ChildProcesses children() {
    return children;
  }

  /** The reaper of orphaned zombies. */
  public OrphanReaper reaper() {
    return reaper;
  }

  private void mountAll() throws IOException {
    for (GuestMounts.Mount m : GuestMounts.missing(GuestMounts.currentMountPoints())) {
      Files.createDirectories(Path.of(m.target()));
      GuestLibc.mount(m.source(), m.target(), m.type(), m.flags(), m.data());
    }
  }

  private void enableControllers() throws IOException {
    Path control = Path.of("/sys/fs/cgroup/cgroup.subtree_control");
    // One write per controller: a controller the kernel lacks must not keep the others off.
    for (String controller : GuestMounts.CGROUP_CONTROLLERS) {
      try {
        Files.writeString(control, "+" + controller);
      } catch (IOException e) {
        warnings.add("cgroup controller " + controller + " not enabled: " + e.getMessage());
      }
    }
  }

  /**
   * Moves the clock forward to {@code hostTime} if it is behind. The command line's time is
   * older than the truth by however long the boot took, so it is a lower bound: a clock already
   * ahead of it (kvmclock gives the guest the host's time) is more accurate and stays.
   */
  private void advanceClockTo(Instant hostTime) {
    if (Instant.now().isBefore(hostTime)) {
      setClock(hostTime);
    }
  }

  @Override
  public void setClock(Instant now) {
    GuestLibc.setRealtimeClock(now);
  }

  @Override
  public void setHostname(String name) {
    GuestLibc.sethostname(name);
  }

  /** Ends the guest; see {@link #powerOff(String, KernelCommandLine)}. */
  public void powerOff(String reason) {
    powerOff(reason, cmdline);
  }

  /**
   * Ends the guest: prints why, flushes file systems, powers off; never returns. Without ACPI
   * ({@code acpi=off} on {@code cmdline}, which may be null when it could not be read) a power-off
   * only halts the CPUs, which a VMM does not see, so the guest reboots instead; our VMM ends the
   * VM on either. If the kernel refuses, the JVM exits, and the kernel panics on the death of PID 1,
   * which ends the VM too.
   */
  public static void powerOff(String reason, KernelCommandLine cmdline) {
    AgentConsole.log("powering off: " + reason);
    GuestLibc.sync();
    boolean acpi = cmdline == null || !"off".equals(cmdline.value("acpi").orElse(""));
    try {
      GuestLibc.reboot(acpi ? GuestLibc.LINUX_REBOOT_CMD_POWER_OFF : GuestLibc.LINUX_REBOOT_CMD_RESTART);
    } catch (SyscallException e) {
      AgentConsole.log("power-off refused: " + e.getMessage());
    }
    Runtime.getRuntime().halt(1);
  }
}

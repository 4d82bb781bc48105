package run.cocoon.agent.guest;

import java.time.Instant;

/** What the agent's server may ask of the guest system (implemented by {@link Pid1}). */
public interface GuestControl {
  /** Sets the guest's wall clock, e.g. to the host's time from the protocol's hello. */
  void setClock(Instant now);

  /** Sets the guest's host name. */
  void setHostname(String name);

  /** The registry every process the agent starts must go through (see {@link ChildProcesses}). */
  ChildProcesses children();
}

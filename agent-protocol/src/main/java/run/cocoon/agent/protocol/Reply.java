package run.cocoon.agent.protocol;

import java.util.List;

/** The agent's answers; every request gets exactly one, with the request's id. */
public sealed interface Reply extends Body {
  /** Answer to hello; {@code boot} is null where the agent is not a guest's PID 1. */
  record Welcome(int version, String agent, BootPhases boot) implements Reply {}

  /**
   * How the guest's start was spent, as the guest measured it: kernel start to {@code /init},
   * {@code /init} to the agent's {@code main} (the JVM's start), and {@code main} to listening.
   */
  record BootPhases(long kernelMillis, long jvmMillis, long agentInitMillis) {}

  /** The request was done. */
  record Ok() implements Reply {}

  /** A container or exec process exists, with this pid in the guest. */
  record Started(long pid) implements Reply {}

  /**
   * A process ended.
   *
   * @param exitCode its exit code, or 128 + signal when a signal ended it (as shells report it)
   * @param signal the signal that ended it, 0 if it exited
   * @param oomKilled the kernel's OOM killer ended it (the container hit its memory limit)
   */
  record Exited(int exitCode, int signal, boolean oomKilled) implements Reply {}

  /** Resource usage from the container's cgroup. */
  record Statistics(long memoryBytes, long memoryLimitBytes, long cpuNanos, long pids)
      implements Reply {}

  /** What {@code list} answers. */
  record Containers(List<ContainerInfo> containers) implements Reply {
    public Containers {
      containers = List.copyOf(containers);
    }
  }

  /** One container: id, status (created, running, stopped) and its process's pid. */
  record ContainerInfo(String id, String status, long pid) {}

  /** The request failed; {@code code} says how, {@code message} says why. */
  record Error(Code code, String message) implements Reply {}

  /** Failure classes a host can act on. */
  enum Code {
    /** The frame or message broke the protocol. */
    PROTOCOL,
    /** A field or the bundle is not acceptable. */
    INVALID,
    /** No such container or exec. */
    NOT_FOUND,
    /** The id is taken. */
    EXISTS,
    /** The container is not in a state that allows this (e.g. start twice). */
    BAD_STATE,
    /** A bound was reached (containers, processes, requests in flight). */
    LIMIT,
    /** The agent cannot do this here. */
    UNSUPPORTED,
    /** Something failed in the guest (mount, clone, exec); the message says what. */
    FAILED
  }
}

package run.cocoon.container;

/**
 * A container cgroup's counters. -1 where the hierarchy does not provide the number.
 *
 * @param memoryBytes memory in use (v2 memory.current, v1 memory.usage_in_bytes)
 * @param cpuNanos CPU time used (v2 cpu.stat usage_usec * 1000, v1 cpuacct.usage)
 * @param pids processes and threads (pids.current)
 * @param oomKills times the OOM killer killed a process of the cgroup
 */
public record CgroupStats(long memoryBytes, long cpuNanos, long pids, long oomKills) {}

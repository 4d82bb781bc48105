package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * Gets a vCPU thread out of a blocking KVM_RUN: set {@code immediate_exit}, then send the thread
 * a signal whose handler does nothing. The signal makes KVM_RUN return EINTR; the flag covers the
 * race where the signal lands just before the thread enters KVM_RUN.
 *
 * <p>The handler must be native code (a Java upcall could interrupt the thread while it is
 * running Java code, which the JVM does not allow). Any libc function that takes at most one
 * integer, touches no global state and cannot fail does nothing harmful when called with the signal
 * number; {@code abs} is such a function, so its address serves as the no-op handler.
 */
public final class VcpuKick {
  /** The kick is the first real-time signal: the JVM leaves real-time signals alone. */
  private static final int SIGRTMIN_OFFSET = 0;
  /** SA_RESTART: other system calls on a vCPU thread resume instead of failing with EINTR. */
  private static final int SA_RESTART = 0x10000000;

  /** glibc's x86_64 {@code struct sigaction}: handler, 1024-bit mask, flags, restorer. */
  static final StructLayout SIGACTION = MemoryLayout.structLayout(
      ADDRESS.withName("sa_handler"),
      MemoryLayout.sequenceLayout(16, java.lang.foreign.ValueLayout.JAVA_LONG).withName("sa_mask"),
      JAVA_INT.withName("sa_flags"),
      MemoryLayout.paddingLayout(4),
      ADDRESS.withName("sa_restorer")).withName("sigaction");

  private static final int SIGNAL = install();

  private VcpuKick() {}

  private static int install() {
    int signal = Libc.sigrtmin() + SIGRTMIN_OFFSET;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment action = arena.allocate(SIGACTION);
      action.set(ADDRESS, Layouts.offset(SIGACTION, "sa_handler"), Libc.symbol("abs"));
      action.set(JAVA_INT, Layouts.offset(SIGACTION, "sa_flags"), SA_RESTART);
      Libc.sigaction(signal, action);
    }
    return signal;
  }

  /** The signal number used for kicks (its no-op handler is installed on first use). */
  public static int signal() {
    return SIGNAL;
  }

  /** The calling thread's handle; a vCPU thread publishes it before its first KVM_RUN. */
  public static long currentThread() {
    return Libc.pthreadSelf();
  }

  /** Interrupts {@code thread}'s KVM_RUN (or its next one, via {@code immediate_exit}). */
  public static void kick(VcpuFd vcpu, long thread) {
    vcpu.setImmediateExit(true);
    Libc.pthreadKill(thread, SIGNAL);
  }
}

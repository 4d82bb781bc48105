package run.cocoon.agent.guest;

import java.io.PrintStream;

/**
 * One-line messages on the guest console ({@code /dev/console} is PID 1's stdout), each prefixed
 * {@code cocoon-agent: } so that the host can pick them out of the kernel's output.
 */
public final class AgentConsole {
  public static final String PREFIX = "cocoon-agent: ";

  private AgentConsole() {}

  public static void log(String message) {
    PrintStream out = System.out;
    synchronized (out) {
      out.println(PREFIX + message);
      out.flush();
    }
  }

  /** A failure with its stack trace, for the console (the only log a guest has). */
  public static void log(String message, Throwable t) {
    PrintStream out = System.out;
    synchronized (out) {
      out.println(PREFIX + message + ": " + t);
      t.printStackTrace(out);
      out.flush();
    }
  }
}

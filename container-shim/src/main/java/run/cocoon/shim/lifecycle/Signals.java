package run.cocoon.shim.lifecycle;

import java.util.Locale;
import java.util.Map;

/** Signal names and numbers as the kill commands accept them: 15, TERM, SIGTERM, sigterm. */
public final class Signals {
  private static final Map<String, Integer> BY_NAME = Map.ofEntries(
      Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
      Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("IOT", 6), Map.entry("BUS", 7),
      Map.entry("FPE", 8), Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11),
      Map.entry("USR2", 12), Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15),
      Map.entry("STKFLT", 16), Map.entry("CHLD", 17), Map.entry("CONT", 18), Map.entry("STOP", 19),
      Map.entry("TSTP", 20), Map.entry("TTIN", 21), Map.entry("TTOU", 22), Map.entry("URG", 23),
      Map.entry("XCPU", 24), Map.entry("XFSZ", 25), Map.entry("VTALRM", 26), Map.entry("PROF", 27),
      Map.entry("WINCH", 28), Map.entry("IO", 29), Map.entry("POLL", 29), Map.entry("PWR", 30),
      Map.entry("SYS", 31));
  public static final int SIGKILL = 9;
  public static final int SIGTERM = 15;
  /** Real-time signals end here on Linux (SIGRTMAX). */
  public static final int MAX_SIGNAL = 64;

  private Signals() {}

  /** The signal number; IllegalArgumentException for anything else. */
  public static int parse(String s) {
    String t = s.trim().toUpperCase(Locale.ROOT);
    if (!t.isEmpty() && t.chars().allMatch(Character::isDigit) && t.length() <= 3) {
      int n = Integer.parseInt(t);
      if (n >= 1 && n <= MAX_SIGNAL) {
        return n;
      }
    } else {
      Integer n = BY_NAME.get(t.startsWith("SIG") ? t.substring(3) : t);
      if (n != null) {
        return n;
      }
    }
    throw new IllegalArgumentException("unknown signal '" + s + "'");
  }
}

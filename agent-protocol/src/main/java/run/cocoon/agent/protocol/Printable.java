package run.cocoon.agent.protocol;

/** Peer-supplied text made safe to put in an error message or a log line. */
final class Printable {
  /** Most characters of peer text quoted back. */
  static final int MAX_QUOTED = 80;

  private Printable() {}

  static String clip(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < MAX_QUOTED; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return s.length() > MAX_QUOTED ? b + "..." : b.toString();
  }
}

package run.cocoon.agent.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The kernel command line as {@code key[=value]} words, parsed like the kernel does: words are
 * separated by spaces, a double-quoted part may hold spaces, a later word wins over an earlier one.
 * The agent reads its settings from here ({@code cocoon.*}); the host writes them.
 */
public record KernelCommandLine(Map<String, String> words) {
  /** The host's wall clock when it built the command line, in epoch milliseconds. */
  public static final String TIME = "cocoon.time";
  /** {@code poweroff}: set up, print the ready marker, power off (boot tests without vsock). */
  public static final String SELFTEST = "cocoon.agent.selftest";
  /** The guest's host name. */
  public static final String HOSTNAME = "cocoon.hostname";

  public KernelCommandLine {
    words = Map.copyOf(words);
  }

  /** Reads {@code /proc/cmdline}. */
  public static KernelCommandLine read() throws IOException {
    return parse(Files.readString(Path.of("/proc/cmdline")));
  }

  public static KernelCommandLine parse(String line) {
    Map<String, String> words = new LinkedHashMap<>();
    StringBuilder word = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i <= line.length(); i++) {
      char c = i < line.length() ? line.charAt(i) : ' ';
      if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && Character.isWhitespace(c)) {
        if (!word.isEmpty()) {
          String w = word.toString();
          int eq = w.indexOf('=');
          words.put(eq < 0 ? w : w.substring(0, eq), eq < 0 ? "" : w.substring(eq + 1));
          word.setLength(0);
        }
      } else {
        word.append(c);
      }
    }
    return new KernelCommandLine(words);
  }

  public Optional<String> value(String key) {
    return Optional.ofNullable(words.get(key));
  }

  public boolean has(String key) {
    return words.containsKey(key);
  }

  /** {@code cocoon.time} as an instant; empty when absent or not a number. */
  public Optional<Instant> hostTime() {
    try {
      return value(TIME).map(Long::parseLong).map(Instant::ofEpochMilli);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}

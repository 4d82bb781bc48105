package run.cocoon.container;

import java.util.regex.Pattern;

/**
 * A container id: 1 to {@link ContainerLimits#MAX_ID_LENGTH} characters of {@code [A-Za-z0-9_.-]},
 * starting with a letter or digit. Safe as a single path component and a cgroup name.
 */
public record ContainerId(String value) {
  private static final Pattern GRAMMAR = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");

  public ContainerId {
    if (value == null || value.isEmpty()) {
      throw new InvalidSpecException("id", "is empty");
    }
    if (value.length() > ContainerLimits.MAX_ID_LENGTH) {
      throw new InvalidSpecException("id", "is longer than MAX_ID_LENGTH ("
          + ContainerLimits.MAX_ID_LENGTH + ")");
    }
    if (!GRAMMAR.matcher(value).matches()) {
      throw new InvalidSpecException("id", "'" + printable(value)
          + "' is not [A-Za-z0-9][A-Za-z0-9_.-]*");
    }
  }

  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 80; i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return value;
  }
}

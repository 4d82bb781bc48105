package run.cocoon.agent.protocol;

import java.util.regex.Pattern;

/** Container and exec ids: safe as file names, cgroup names and log keys. */
public final class Ids {
  /** Letters, digits, '_', '-', '.', starting with a letter or digit. */
  public static final Pattern PATTERN =
      Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0," + (ProtocolLimits.MAX_ID_LENGTH - 1) + "}");

  private Ids() {}

  /** Whether {@code id} is a valid id. */
  public static boolean valid(String id) {
    return id != null && PATTERN.matcher(id).matches();
  }

  /** {@code id}, or a {@link ProtocolException.Invalid} naming the field. */
  public static String check(String field, String id) throws ProtocolException.Invalid {
    if (!valid(id)) {
      throw new ProtocolException.Invalid(field + " must match " + PATTERN.pattern() + ", got "
          + (id == null ? "nothing" : "\"" + Printable.clip(id) + "\""));
    }
    return id;
  }
}

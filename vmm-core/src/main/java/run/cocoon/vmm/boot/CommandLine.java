package run.cocoon.vmm.boot;

import java.nio.charset.StandardCharsets;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * A validated kernel command line. Only printable ASCII (0x20..0x7e) is accepted: a NUL would
 * silently cut the line short in the guest, and control bytes or non-ASCII text have no meaning
 * to the kernel's parser.
 */
public record CommandLine(String text) {

  /** Validates {@code text} against the kernel's limit {@code maxChars} (NUL not counted). */
  public static CommandLine of(String text, long maxChars) throws BootException {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == 0) {
        throw new BootException.InvalidCommandLine("contains a NUL byte at index " + i
            + "; the kernel would stop reading there");
      }
      if (c < 0x20 || c > 0x7e) {
        throw new BootException.InvalidCommandLine("character " + String.format("U+%04X", (int) c)
            + " at index " + i + " is not printable ASCII");
      }
    }
    long limit = Math.min(maxChars, BootLimits.CMDLINE_MAX_CHARS);
    if (text.length() > limit) {
      throw new BootException.InvalidCommandLine(text.length() + " characters, more than the "
          + limit + " this kernel accepts (" + Layout.CMDLINE_MAX_BYTES + " bytes with the NUL"
          + " at most)");
    }
    return new CommandLine(text);
  }

  /** Writes the line, NUL-terminated, at {@link Layout#CMDLINE_ADDRESS}. */
  public void writeTo(GuestMemory memory) {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    memory.write(Layout.CMDLINE_ADDRESS, bytes);
    memory.writeU8(Layout.CMDLINE_ADDRESS + bytes.length, 0);
  }
}

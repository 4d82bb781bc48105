package run.cocoon.container.seccomp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * System call names to numbers for one ABI, from a resource of {@code name number} lines taken
 * from the kernel's headers.
 */
final class SyscallTable {
  private final Map<String, Integer> numbers;

  private SyscallTable(Map<String, Integer> numbers) {
    this.numbers = Map.copyOf(numbers);
  }

  /** The number of {@code name}, or empty when this ABI has no such call. */
  OptionalInt number(String name) {
    Integer n = numbers.get(name);
    return n == null ? OptionalInt.empty() : OptionalInt.of(n);
  }

  int size() {
    return numbers.size();
  }

  static SyscallTable load(String resource, int numberBit) {
    Map<String, Integer> numbers = new HashMap<>();
    try (InputStream in = SyscallTable.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
      for (String line; (line = r.readLine()) != null; ) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] f = line.trim().split(" ");
        numbers.put(f[0], Integer.parseInt(f[1]) | numberBit);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new SyscallTable(numbers);
  }
}

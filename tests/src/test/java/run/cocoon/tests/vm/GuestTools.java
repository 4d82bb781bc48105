package run.cocoon.tests.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import run.cocoon.testbox.BoxScript;

/**
 * Small C programs the test guests need and busybox lacks ({@code tests/src/test/native/*.c}),
 * compiled with {@code gcc -static} so the same binary runs in the guest and on the host (or in
 * the box). They go into the test initramfs as {@code /bin/NAME}.
 */
public final class GuestTools {
  private static List<Path> built;
  private static String failure;

  private GuestTools() {}

  /** The compiled tools; empty (with {@link #failure()} saying why) when gcc could not build them. */
  public static synchronized List<Path> all() throws IOException {
    if (built == null) {
      built = build();
    }
    return built;
  }

  /** The compiled tool {@code name}, or null. */
  public static Path tool(String name) throws IOException {
    return all().stream().filter(p -> p.getFileName().toString().equals(name)).findFirst()
        .orElse(null);
  }

  public static synchronized String failure() {
    return failure;
  }

  private static List<Path> build() throws IOException {
    Path root = BoxScript.projectRoot();
    Path sources = root.resolve("tests/src/test/native");
    Path out = root.resolve("tests/target/guest-tools");
    Files.createDirectories(out);
    List<Path> tools = new ArrayList<>();
    try (Stream<Path> files = Files.list(sources)) {
      for (Path c : files.filter(p -> p.toString().endsWith(".c")).sorted().toList()) {
        String name = c.getFileName().toString().replaceFirst("\\.c$", "");
        Path binary = out.resolve(name);
        if (!Files.exists(binary)
            || Files.getLastModifiedTime(binary).compareTo(Files.getLastModifiedTime(c)) < 0) {
          String why = compile(c, binary);
          if (why != null) {
            failure = name + ": " + why;
            continue;
          }
        }
        tools.add(binary);
      }
    }
    return List.copyOf(tools);
  }

  private static String compile(Path source, Path binary) throws IOException {
    Path log = binary.resolveSibling(binary.getFileName() + ".log");
    Process p = new ProcessBuilder("gcc", "-static", "-O2", "-Wall", "-o", binary.toString(),
        source.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "gcc timed out";
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
    return p.exitValue() == 0 ? null : "gcc failed: " + Files.readString(log).strip();
  }
}

package run.cocoon.testbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Runs a JUnit Platform test selection inside a {@link NestedBox} with the JUnit Console Launcher
 * (junit-platform-console-standalone) and the JDK this JVM runs on, both read from the host over
 * the box's read-only root.
 *
 * <pre>{@code
 * Summary s = JUnitInBox.run(box, List.of(root.resolve("kvm-bindings/target/test-classes"),
 *     root.resolve("kvm-bindings/target/classes")), List.of("--select-package", "run.cocoon.kvm"),
 *     Duration.ofMinutes(20));
 * }</pre>
 */
public final class JUnitInBox {
  private JUnitInBox() {}

  /** The console launcher's closing counts, its exit status and everything it printed. */
  public record Summary(Map<String, Long> counts, int exitCode, String output, Duration elapsed) {
    public long count(String what) {
      return counts.getOrDefault(what, -1L);
    }

    public long testsFound() {
      return count("tests found");
    }

    public long testsSucceeded() {
      return count("tests successful");
    }

    public long testsFailed() {
      return count("tests failed");
    }

    public long testsSkipped() {
      return count("tests skipped");
    }

    public long testsAborted() {
      return count("tests aborted");
    }

    public long containersFailed() {
      return count("containers failed");
    }

    /** True when tests were found, all succeeded, none were skipped, aborted or failed. */
    public boolean allPassedNoneSkipped() {
      return exitCode == 0 && testsFound() > 0 && testsFailed() == 0 && testsSkipped() == 0
          && testsAborted() == 0 && containersFailed() == 0 && count("containers skipped") <= 0
          && testsSucceeded() == testsFound();
    }
  }

  /** Per-test timeout inside the box (everything there runs under TCG, so it is generous). */
  public static final String PER_TEST_TIMEOUT = "5 m";

  private static final Pattern COUNT = Pattern.compile("\\[\\s*(\\d+) (tests|containers) (\\w+)\\s*]");

  /**
   * Runs {@code selectors} (console launcher arguments such as {@code --select-package P},
   * {@code --select-class C}, {@code --select-method C#m}) over {@code classpath} in {@code box}.
   * JVM flags: {@code --enable-native-access=ALL-UNNAMED}, as surefire gives our tests, plus C1
   * only and the serial GC for a faster start under emulation.
   */
  public static Summary run(NestedBox box, List<Path> classpath, List<String> selectors, Duration timeout) {
    return run(box, classpath, List.of(), Map.of(), selectors, timeout);
  }

  /**
   * As {@link #run(NestedBox, List, List, Duration)}, with more JVM arguments for the launcher's
   * JVM (e.g. {@code -Dkey=value} the tests read) and environment variables for it and the
   * processes the tests start (added to the box's small base environment).
   */
  public static Summary run(NestedBox box, List<Path> classpath, List<String> jvmArgs,
      Map<String, String> env, List<String> selectors, Duration timeout) {
    for (Path p : classpath) {
      if (!Files.exists(p)) {
        throw new IllegalArgumentException("classpath entry " + p + " does not exist; build it first"
            + " (e.g. mvn -pl <module> test-compile)");
      }
    }
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED",
        // Under TCG the JIT competes with the tests for the emulated CPUs: C1 alone and the
        // serial GC brought the launcher's start from ~75 s to ~50 s on a busy host.
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-jar", consoleLauncherJar().toString(),
        "execute", "--disable-banner", "--disable-ansi-colors", "--details=tree",
        // The same per-test bound surefire applies on the host. (Running tests on a separate
        // thread would also escape a test stuck in an ioctl, but breaks tests that keep confined
        // arenas across @BeforeEach and @Test.)
        "--config=junit.jupiter.execution.timeout.default=" + PER_TEST_TIMEOUT,
        "--class-path", classpath.stream().map(p -> p.toAbsolutePath().toString()).collect(Collectors.joining(":"))));
    cmd.addAll(selectors);
    NestedBox.Result r = box.run(cmd, timeout, env, Path.of("").toAbsolutePath());
    String output = r.stdout() + (r.stderr().isEmpty() ? "" : "\n--- stderr:\n" + r.stderr());
    return new Summary(parseCounts(r.stdout()), r.exitCode(), output, r.elapsed());
  }

  static Map<String, Long> parseCounts(String out) {
    Map<String, Long> counts = new HashMap<>();
    Matcher m = COUNT.matcher(out);
    while (m.find()) {
      counts.put(m.group(2) + " " + m.group(3), Long.parseLong(m.group(1)));
    }
    return counts;
  }

  /**
   * The junit-platform-console-standalone jar: system property {@code cocoon.junit.console.jar}
   * (the tests module's pom sets it from its dependency), else the local Maven repository.
   */
  public static Path consoleLauncherJar() {
    String prop = System.getProperty("cocoon.junit.console.jar");
    if (prop != null && !prop.isBlank() && !prop.startsWith("${") && Files.isRegularFile(Path.of(prop))) {
      return Path.of(prop);
    }
    Path dir = Path.of(System.getProperty("user.home"), ".m2/repository/org/junit/platform/junit-platform-console-standalone");
    try (var versions = Files.list(dir)) {
      var jar = versions.sorted(java.util.Comparator.reverseOrder())
          .map(v -> v.resolve("junit-platform-console-standalone-" + v.getFileName() + ".jar"))
          .filter(Files::isRegularFile).findFirst();
      if (jar.isPresent()) {
        return jar.get();
      }
    } catch (java.io.IOException e) {
      // Not in the local repository either; say so below.
    }
    throw new IllegalStateException("junit-platform-console-standalone not found (looked at -Dcocoon.junit.console.jar and "
        + dir + "); run the tests through Maven (mvn -pl tests test) so that it is fetched");
  }
}

package run.cocoon.tests.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import run.cocoon.testbox.BoxFlakes;
import run.cocoon.testbox.BoxScript;
import run.cocoon.testbox.JUnitInBox;
import run.cocoon.testbox.KvmProbe;
import run.cocoon.testbox.NestedBox;

/**
 * The vm half of {@link RunContractTest} where this host cannot boot guests: the same test class,
 * restricted to {@code --isolation=vm}, run inside the nested box, where every case must be found
 * and pass and none may skip. With hardware KVM the vm cases run directly and this class skips.
 *
 * <p>In the box only /tmp is writable: the cases' store and state ({@code @TempDir}) land there,
 * and {@code cocoon} runs the host's build read-only ({@code COCOON_NO_BUILD=1}).
 */
@Tag("slow")
@Timeout(value = 60, unit = TimeUnit.MINUTES)
class RunContractInBoxTest {
  /**
   * Seven guest boots (one to three minutes each to the agent under TCG) plus a JVM start per
   * {@code cocoon} call and the launcher's own start: 15 min on a busy 2-core host.
   */
  private static final Duration SUITE_TIMEOUT = Duration.ofMinutes(50);
  /** Jars the console launcher bundles itself; two copies of an engine would clash. */
  private static final List<String> BUNDLED_BY_LAUNCHER =
      List.of("junit-", "opentest4j-", "apiguardian-", "surefire");

  @Test
  void vmCasesPassInTheBox() throws Exception {
    KvmProbe.Verdict verdict = KvmProbe.get();
    assumeFalse(verdict.bootsLinux(),
        "this host boots guests itself, so RunContractTest runs its vm cases directly: " + verdict);
    Map<String, String> env = RunContractTest.guestEnvironment();
    Path root = BoxScript.projectRoot();
    JUnitInBox.Summary s = runInBox(env, root);
    if (!s.allPassedNoneSkipped()
        && (BoxFlakes.guestStoppedBeforeAgent(s.output()) || BoxFlakes.boxGone(s.output()))) {
      System.err.println("[report] RunContractTest in the box: the box's L1 VM ended, or a guest stopped"
          + " before its agent answered, the box's intermittent problems (docs/test-box.md);"
          + " running the cases once more in a new box."
          + " First attempt:\n" + s.output());
      s = runInBox(env, root);
    }
    // The launcher's whole output (its test tree, the cases' stderr) is in the failure messages.
    System.err.println("[report] RunContractTest, vm cases in the box: " + s.testsFound()
        + " found, " + s.testsSucceeded() + " passed, " + s.testsFailed() + " failed, "
        + s.testsSkipped() + " skipped, " + s.testsAborted() + " aborted, "
        + s.elapsed().toSeconds() + " s");
    assertEquals(contractCases(), s.testsFound(), s::output);
    assertTrue(s.allPassedNoneSkipped(), s::output);
  }

  private static JUnitInBox.Summary runInBox(Map<String, String> env, Path root) throws Exception {
    try (NestedBox box = NestedBox.start(NestedBox.Options.defaults())) {
      return JUnitInBox.run(box, classpath(),
          List.of("-D" + RunContractTest.ISOLATIONS_PROPERTY + "=vm", "-Dcocoon.root=" + root),
          env, List.of("--select-class", RunContractTest.class.getName()), SUITE_TIMEOUT);
    }
  }

  /** One vm case per parameterized test method of the contract. */
  private static long contractCases() {
    return Arrays.stream(RunContractTest.class.getDeclaredMethods())
        .filter(m -> m.isAnnotationPresent(org.junit.jupiter.params.ParameterizedTest.class))
        .count();
  }

  /** This JVM's test classpath without what the console launcher brings. */
  private static List<Path> classpath() {
    return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(e -> !e.isBlank())
        .map(Path::of)
        .filter(p -> BUNDLED_BY_LAUNCHER.stream()
            .noneMatch(b -> p.getFileName().toString().startsWith(b)))
        .toList();
  }
}

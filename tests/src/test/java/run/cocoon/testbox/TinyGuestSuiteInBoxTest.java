package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The foundation's tiny-guest KVM suite (kvm-bindings' tests, package run.cocoon.kvm) run inside
 * the nested box, where /dev/kvm is real KVM: every test must be found, run and pass; none may
 * skip (they skip only without a usable /dev/kvm). The whole suite took 2.5 min in the box on a
 * busy host; 15 minutes means L1 is stuck (docs/test-box.md has a known case).
 */
@Tag("slow")
@Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
class TinyGuestSuiteInBoxTest {
  /** A healthy run takes 1.5-2.5 min in the box on a busy host. */
  private static final Duration ATTEMPT_TIMEOUT = Duration.ofMinutes(7);
  /**
   * L1 (the emulated-SVM VM of the box, not our code) has been seen to lock up with both of its
   * vCPUs spinning in its kernel; a locked-up box gets one more chance in a fresh box, and both
   * attempts are reported. A test that fails (rather than a box that hangs) fails at once.
   */
  private static final int ATTEMPTS = 2;

  @Test
  void kvmBindingsSuitePassesInTheBox() throws Exception {
    Path root = BoxScript.projectRoot();
    List<Path> cp = List.of(root.resolve("kvm-bindings/target/test-classes"), root.resolve("kvm-bindings/target/classes"));
    JUnitInBox.Summary s = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try (NestedBox box = NestedBox.start(NestedBox.Options.defaults())) {
        s = JUnitInBox.run(box, cp, List.of("--select-package", "run.cocoon.kvm"), ATTEMPT_TIMEOUT);
      }
      boolean hung = s.exitCode() != 0 && s.testsFound() == 0; // no summary: the run never ended
      System.err.println("[report] kvm-bindings suite in L1, attempt " + attempt + ": "
          + (hung ? "the box did not finish within " + ATTEMPT_TIMEOUT.toMinutes() + " min"
              : s.testsFound() + " tests") + ", " + s.elapsed().toMillis() + " ms");
      if (!hung) {
        break;
      }
    }
    JUnitInBox.Summary r = s;
    assertTrue(r.testsFound() > 0, () -> "no tests found:\n" + r.output());
    assertEquals(0, r.testsFailed(), r::output);
    assertEquals(0, r.testsSkipped(), r::output);
    assertEquals(0, r.testsAborted(), r::output);
    assertEquals(0, r.containersFailed(), r::output);
    assertEquals(0, r.exitCode(), r::output);
  }
}

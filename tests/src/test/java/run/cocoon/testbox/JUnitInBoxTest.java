package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The JUnit-in-the-box mechanism, against this module's own small fixtures. */
@Tag("slow")
@Timeout(value = 20, unit = java.util.concurrent.TimeUnit.MINUTES)
class JUnitInBoxTest {
  private static NestedBox box;
  private static List<Path> classpath;

  @BeforeAll
  static void boot() throws Exception {
    classpath = List.of(Path.of(KvmSmoke.class.getProtectionDomain().getCodeSource().getLocation().toURI()),
        Path.of(KvmProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
    box = NestedBox.start(NestedBox.Options.defaults());
  }

  @AfterAll
  static void shutdown() {
    if (box != null) {
      box.close();
    }
  }

  @Test
  void passingSelectionIsCountedAndClean() {
    JUnitInBox.Summary s = JUnitInBox.run(box, classpath,
        List.of("--select-class", InBoxKvmChecks.class.getName()), Duration.ofMinutes(10));
    System.err.println("[report] JUnit console launcher in L1, 2 tests: " + s.elapsed().toMillis() + " ms");
    assertTrue(s.allPassedNoneSkipped(), s::output);
    assertEquals(2, s.testsFound(), s::output);
  }

  @Test
  void failureInsideTheBoxIsReported() {
    JUnitInBox.Summary s = JUnitInBox.run(box, classpath,
        List.of("--select-class", InBoxFailingChecks.class.getName()), Duration.ofMinutes(10));
    assertEquals(1, s.testsFailed(), s::output);
    assertTrue(s.exitCode() != 0, s::output);
    assertFalse(s.allPassedNoneSkipped());
    assertTrue(s.output().contains("deliberate failure inside the box"), s::output);
  }

  @Test
  void countsAreParsed() {
    String out = """
        [         3 containers found      ]
        [         0 containers failed     ]
        [         5 tests found           ]
        [         1 tests skipped         ]
        [         4 tests successful      ]
        [         0 tests failed          ]
        """;
    var c = JUnitInBox.parseCounts(out);
    assertEquals(5L, c.get("tests found"));
    assertEquals(1L, c.get("tests skipped"));
    assertEquals(0L, c.get("containers failed"));
  }
}

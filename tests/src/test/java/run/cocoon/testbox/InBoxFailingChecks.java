package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/** A fixture for {@link JUnitInBoxTest}: one test that fails inside the box, to see it reported. */
@EnabledIfEnvironmentVariable(named = "COCOON_IN_BOX", matches = "1")
class InBoxFailingChecks {
  @Test
  void failsOnPurpose() {
    fail("deliberate failure inside the box");
  }
}

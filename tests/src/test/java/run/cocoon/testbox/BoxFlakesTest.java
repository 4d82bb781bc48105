package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What counts as the box failing rather than the code under test: examples as printed. */
class BoxFlakesTest {

  @Test
  void aGuestThatTripleFaultedOrHungBeforeItsAgentIsTheBoxsProblem() {
    assertTrue(BoxFlakes.guestStoppedBeforeAgent("Error: OCI runtime error: /tmp/podman-vm/runtime: cocoon-runtime:"
        + " VM isolation: the VM ended before its agent answered: crashed: triple fault\n--- guest console"));
    assertTrue(BoxFlakes.guestStoppedBeforeAgent("cocoon: the agent did not answer within 300 s"));
  }

  @Test
  void otherFailuresAreNot() {
    assertFalse(BoxFlakes.guestStoppedBeforeAgent("the VM ended before its agent answered: crashed: guest kernel panic"));
    assertFalse(BoxFlakes.guestStoppedBeforeAgent("crashed: triple fault")); // after the agent: ours
    assertFalse(BoxFlakes.guestStoppedBeforeAgent("expected: <0> but was: <126>"));
    assertFalse(BoxFlakes.boxGone("cocoon-box: the box serving /tmp/x did not start the command within 60 s"));
  }

  @Test
  void aBoxWhoseL1EndedIsRecognised() {
    assertTrue(BoxFlakes.boxGone("cocoon: WARNING: x\ncocoon-box: the box serving /tmp/cocoon-box-serve-1 is gone\n"));
  }
}

package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import run.cocoon.testbox.NestedBox;

/** Which boots {@link GuestRun} may repeat in the box: only those that never reached /init. */
class GuestRunTest {
  private static NestedBox.Result result(int code, String stdout, String stderr) {
    return new NestedBox.Result(code, stdout, stderr, Duration.ofSeconds(1));
  }

  @Test
  void aHangOrTripleFaultBeforeInitIsRepeated() {
    assertTrue(GuestRun.stoppedBeforeInit(result(124, "[ 4.3] clocksource: Switched to kvm-clock",
        "cocoon-box: timeout: command 'java' still running after 240s; killed it")));
    assertTrue(GuestRun.stoppedBeforeInit(result(11, "", "cocoon: VM crashed: triple fault")));
  }

  @Test
  void whatHappensAfterInitOrForAnotherReasonIsNot() {
    String reachedInit = "[ 5.3] Run /init as init process\n";
    assertFalse(GuestRun.stoppedBeforeInit(result(124, reachedInit,
        "cocoon-box: timeout: command 'java' still running after 240s; killed it")));
    assertFalse(GuestRun.stoppedBeforeInit(result(11, reachedInit,
        "cocoon: VM crashed: triple fault")));
    assertFalse(GuestRun.stoppedBeforeInit(result(11, "", "cocoon: VM crashed: guest kernel panic")));
    assertFalse(GuestRun.stoppedBeforeInit(result(124, "", "the test's own timeout")));
    assertFalse(GuestRun.stoppedBeforeInit(result(0, "", "")));
  }
}

package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * A fixture for {@link JUnitInBoxTest}: run by the console launcher inside the box (where
 * COCOON_IN_BOX=1), skipped anywhere else. Its name keeps surefire's default includes off it.
 */
@EnabledIfEnvironmentVariable(named = "COCOON_IN_BOX", matches = "1")
class InBoxKvmChecks {
  @Test
  void kvmApiAndVmCreation() {
    String r = KvmSmoke.check();
    assertTrue(r.startsWith("api=12 vm_fd="), r);
  }

  @Test
  void probeSaysHardwareInsideTheBox() {
    KvmProbe.Verdict v = KvmProbe.get();
    assertTrue(v.bootsLinux() && v.reason().contains("nested test box"), v.toString());
  }
}

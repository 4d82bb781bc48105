package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import run.cocoon.testbox.NestedBox;

/**
 * cocoon-runtime in VM isolation, driven as conmon drives it (separate processes, the pid-file
 * process waited for by its subreaper), where VMs run: output on the inherited stdout and stderr,
 * exit status 3 through the VM keeper, created/running/stopped, SIGTERM through the agent, the
 * keeper SIGKILLed and {@code delete --force} leaving nothing, a volume and a bad id refused with
 * nothing left. See {@link RuntimeVmScenario}.
 */
@Tag("slow")
@Tag("guest-jvm")
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class RuntimeVmTest {
  /** Three VMs, each booting a guest JVM under emulation, and ~25 runtime JVM starts. */
  private static final Duration TIMEOUT = Duration.ofMinutes(25);

  private static String value(String stdout, String key) {
    return GuestRun.value(stdout, RuntimeVmScenario.MARK, key);
  }

  @Test
  void lifecycleThroughTheCli() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
    Path image = AgentBootVmTest.guestImage();
    NestedBox.Result r = GuestRun.javaMain(RuntimeVmScenario.class, image, "/tmp/runtime-vm", TIMEOUT);
    System.out.println(r.describe());
    String out = r.stdout();
    assertEquals("yes", value(out, "done"), r.describe());
    assertEquals("0", value(out, "c1-create"));
    assertEquals("true", value(out, "c1-pid-matches"));
    assertEquals("created", value(out, "c1-created"));
    assertEquals("0", value(out, "c1-start"));
    assertEquals("3", value(out, "c1-exit"));
    assertEquals("hi-from-vm", value(out, "c1-out"));
    assertEquals("err-from-vm", value(out, "c1-err"));
    assertEquals("stopped", value(out, "c1-stopped"));
    assertEquals("0", value(out, "c1-delete"));
    assertEquals("true", value(out, "c1-gone"));
    assertEquals("0", value(out, "c2-create"));
    assertEquals("running", value(out, "c2-running"));
    assertEquals("0", value(out, "c2-kill"));
    assertEquals("143", value(out, "c2-exit"));
    assertEquals("up|got-term", value(out, "c2-out"));
    assertEquals("0", value(out, "c2-delete"));
    assertEquals("0", value(out, "c3-create"));
    assertEquals("137", value(out, "c3-exit"));
    assertEquals("0", value(out, "c3-delete"));
    assertEquals("true", value(out, "c3-gone"));
    assertEquals("1", value(out, "c4-code"));
    assertEquals("true", value(out, "c4-says-volume"));
    assertEquals("true", value(out, "c4-nothing"));
    assertEquals("1", value(out, "c5-code"));
    assertEquals("0", value(out, "left"));
    assertEquals("0", value(out, "keepers-alive"));
    assertEquals(0, r.exitCode(), r.describe());
  }
}

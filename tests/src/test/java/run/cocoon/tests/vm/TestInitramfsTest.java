package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scenario script every VM test boots parses, so one bad edit cannot fail them all at once. */
class TestInitramfsTest {
  @Test
  void theInitScriptIsValidShell(@TempDir Path dir) throws IOException, InterruptedException {
    assumeTrue(Files.isExecutable(TestInitramfs.BUSYBOX), "busybox-static is not installed");
    Path init = Files.writeString(dir.resolve("init"), TestInitramfs.INIT);
    Process p = new ProcessBuilder(TestInitramfs.BUSYBOX.toString(), "sh", "-n", init.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
  }
}

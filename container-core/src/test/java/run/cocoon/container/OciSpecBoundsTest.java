package run.cocoon.container;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A hostile config.json: deep nesting, huge numbers, a FIFO in its place. */
class OciSpecBoundsTest {
  @TempDir Path dir;

  @Test
  void nestingBeyondTheBoundIsRefused() {
    String deep = "{\"unknown\":" + "[".repeat(ContainerLimits.MAX_CONFIG_NESTING + 1)
        + "]".repeat(ContainerLimits.MAX_CONFIG_NESTING + 1) + "}";
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> OciSpec.parse(deep.getBytes(StandardCharsets.UTF_8)));
    assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
  }

  @Test
  void aNumberWithTooManyDigitsIsRefused() {
    String big = "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":"
        + "9".repeat(ContainerLimits.MAX_CONFIG_NUMBER_DIGITS + 1) + "}}}";
    assertThrows(InvalidSpecException.class, () -> OciSpec.parse(big.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void aFifoInPlaceOfConfigJsonIsRefusedWithoutBlocking() throws Exception {
    Path fifo = dir.resolve("config.json");
    Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
    if (p.waitFor() != 0) {
      throw new IOException("mkfifo failed");
    }
    InvalidSpecException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
        () -> assertThrows(InvalidSpecException.class, () -> OciSpec.read(fifo)));
    assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
  }
}

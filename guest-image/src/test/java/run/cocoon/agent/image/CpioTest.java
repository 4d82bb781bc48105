package run.cocoon.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our newc writer against GNU cpio's reader, and its fixed header fields. */
class CpioTest {
  @TempDir Path dir;

  private byte[] sample() throws Exception {
    Path data = Files.writeString(dir.resolve("data"), "hello, guest\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Cpio cpio = new Cpio(out)) {
      cpio.directory("bin", 0755);
      cpio.file("bin/tool", 0755, data);
      cpio.symlink("bin/sh", "tool");
      cpio.directory("dev", 0755);
      cpio.characterDevice("dev/console", 0600, 5, 1);
      cpio.file("init", 0755, "#!/bin/sh\n".getBytes(StandardCharsets.US_ASCII));
    }
    return out.toByteArray();
  }

  @Test
  void gnuCpioListsWhatWasWritten() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/cpio")), "cpio is not installed");
    Path archive = Files.write(dir.resolve("a.cpio"), sample());
    Process p = new ProcessBuilder("cpio", "-itv", "--quiet", "--numeric-uid-gid")
        .redirectInput(archive.toFile()).redirectErrorStream(true).start();
    List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
        .strip().lines().map(l -> l.replaceAll(" +", " ")).toList();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), String.join("\n", lines));
    assertEquals(6, lines.size(), String.join("\n", lines));
    assertTrue(lines.get(0).startsWith("drwxr-xr-x 2 0 0 0 "), lines.get(0));
    assertTrue(lines.get(0).endsWith(" bin"), lines.get(0));
    assertTrue(lines.get(1).startsWith("-rwxr-xr-x 1 0 0 13 "), lines.get(1));
    assertTrue(lines.get(2).startsWith("lrwxrwxrwx 1 0 0 4 ") && lines.get(2).endsWith("bin/sh -> tool"),
        lines.get(2));
    assertTrue(lines.get(4).startsWith("crw------- 1 0 0 5, 1 "), lines.get(4));
    // The fixed modification time, 2024-01-01.
    assertTrue(lines.get(5).contains(" Jan 1 2024 init"), lines.get(5));
  }

  @Test
  void headersAreAlignedAndFixed() throws Exception {
    byte[] bytes = sample();
    assertEquals(0, bytes.length % 4);
    String first = new String(bytes, 0, 110, StandardCharsets.US_ASCII);
    assertEquals("070701", first.substring(0, 6));
    assertEquals(String.format("%08x", 1), first.substring(6, 14)); // inode 1
    assertEquals(String.format("%08x", Cpio.MTIME), first.substring(46, 54));
    String text = new String(bytes, StandardCharsets.US_ASCII);
    assertTrue(text.contains("TRAILER!!!"));
  }
}

package run.cocoon.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The initramfs writer agrees with GNU cpio on what it wrote. */
class NewcTest {
    @Test
    void gnuCpioListsWhatWeWrote(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue(Scripts.onPath("cpio"), "skipped: cpio is not installed (Debian package cpio)");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new Newc(bytes)
                .directory("/bin", 0755)
                .file("/bin/hello", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8))
                .symlink("/bin/sh", "hello")
                .directory("/dev", 0755)
                .characterDevice("/dev/console", 0600, 5, 1)
                .finish();
        assertEquals(0, bytes.size() % 4);
        Path archive = Files.write(dir.resolve("a.cpio"), bytes.toByteArray());
        Scripts.Result r = Scripts.run(Duration.ofSeconds(30),
                List.of("sh", "-c", "cpio -itv --quiet < '" + archive + "'"));
        assertEquals(0, r.exitCode(), r::describe);
        List<String> lines = r.stdout().lines().toList();
        assertEquals(5, lines.size(), r::describe);
        assertEquals(List.of("drwxr-xr-x", "-rwxr-xr-x", "lrwxrwxrwx", "drwxr-xr-x", "crw-------"),
                lines.stream().map(l -> l.split("\\s+")[0]).toList(), r::describe);
        assertEquals(true, lines.get(2).endsWith("bin/sh -> hello"), r::describe);
        assertEquals(true, lines.get(4).contains("5,") && lines.get(4).endsWith("dev/console"), r::describe);
    }
}

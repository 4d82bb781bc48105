package run.cocoon.shim.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Separate cocoon processes on one store: their file locks, not this JVM's in-process locks, must
 * keep the index and the per-image builds consistent.
 */
class TwoProcessesTest {
  static final int PROCESSES = 3;
  @TempDir Path tmp;

  @AfterEach
  void cleanUp() throws IOException {
    Fs.deleteTree(tmp.resolve("store"));
  }

  private Process cocoon(Path store, Path log, String... args) throws IOException {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        "-Dcocoon.home=" + store, "run.cocoon.shim.cli.Main"));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  @Test
  void concurrentImportsAndUnpacksFromSeveralProcesses() throws Exception {
    Path store = tmp.resolve("store");
    ImageStore.open(store);
    List<Path> layouts = new ArrayList<>();
    for (int i = 0; i < PROCESSES; i++) {
      // Same content for all: every process races to commit and to unpack the same image.
      layouts.add(TestImages.layout(tmp.resolve("l" + i),
          Map.of("proc/img:" + i, TestImages.simple("same", TestImages.Compression.ZSTD))));
    }
    List<Process> ps = new ArrayList<>();
    for (int i = 0; i < PROCESSES; i++) {
      Path script = tmp.resolve("p" + i + ".log");
      ps.add(cocoon(store, script, "import", layouts.get(i).toString()));
    }
    for (int i = 0; i < PROCESSES; i++) {
      assertTrue(ps.get(i).waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, ps.get(i).exitValue(), Files.readString(tmp.resolve("p" + i + ".log")));
    }
    ps.clear();
    for (int i = 0; i < PROCESSES; i++) {
      ps.add(cocoon(store, tmp.resolve("u" + i + ".log"), "inspect", "proc/img:" + i, "--rootfs",
          "--format", "json"));
    }
    for (int i = 0; i < PROCESSES; i++) {
      assertTrue(ps.get(i).waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, ps.get(i).exitValue(), Files.readString(tmp.resolve("u" + i + ".log")));
    }
    ImageStore s = ImageStore.open(store);
    assertEquals(PROCESSES, s.names().size(), "every process's name survived the others' commits");
    try (Stream<Path> r = Files.list(s.rootfsRoot()); Stream<Path> t = Files.list(s.tmpDir())) {
      assertEquals(1, r.count(), "one rootfs for the one image");
      assertEquals(0, t.count(), "no work area left behind");
    }
    Path root = s.rootfsDirectory(s.resolve("proc/img:0"));
    assertEquals("same", Files.readString(root.resolve("etc/marker")));
  }
}

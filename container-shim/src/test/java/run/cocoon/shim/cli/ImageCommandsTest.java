package run.cocoon.shim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The image commands end to end in this JVM, against a temporary store. */
class ImageCommandsTest {
  @TempDir Path tmp;
  private String oldHome;

  record Result(int code, String out, String err) {}

  @BeforeEach
  void useTempStore() {
    oldHome = System.getProperty("cocoon.home");
    System.setProperty("cocoon.home", tmp.resolve("home").toString());
  }

  @AfterEach
  void restore() throws IOException {
    if (oldHome == null) {
      System.clearProperty("cocoon.home");
    } else {
      System.setProperty("cocoon.home", oldHome);
    }
    // Deleted here: JUnit warns about every absolute symlink of an unpacked rootfs.
    new ProcessBuilder("rm", "-rf", tmp.resolve("home").toString()).inheritIO().start().onExit().join();
  }

  private Result run(String... args) {
    PrintStream oldOut = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StringWriter err = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      CommandLine cl = Main.commandLine();
      cl.setErr(new PrintWriter(err, true));
      int code = cl.execute(args);
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(oldOut);
    }
  }

  @Test
  void defaultImageListInspectAndRemove() throws Exception {
    Result r = run("images", "ensure-default");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("cocoon/busybox:latest sha256:"), r.out());

    Result list = run("images", "--format", "json");
    JsonNode arr = new ObjectMapper().readTree(list.out());
    assertEquals("cocoon/busybox:latest", arr.get(0).get("name").asText());

    Result text = run("images");
    assertTrue(text.out().contains("cocoon/busybox:latest"), text.out());

    Result insp = run("inspect", "busybox", "--rootfs", "--format", "json");
    assertEquals(0, insp.code(), insp.err());
    JsonNode j = new ObjectMapper().readTree(insp.out());
    assertEquals("sh", j.get("config").get("cmd").get(0).asText());
    assertTrue(Files.isRegularFile(Path.of(j.get("rootfs").asText()).resolve("bin/busybox")));

    assertEquals(0, run("rmi", "cocoon/busybox").code());
    assertEquals("[ ]", run("images", "--format", "json").out().strip());
  }

  @Test
  void importsAnArchiveTheStoreItselfWrote() throws Exception {
    // The store is an OCI layout, so it can be imported elsewhere as one.
    assertEquals(0, run("images", "ensure-default").code());
    Path layout = tmp.resolve("home");
    System.setProperty("cocoon.home", tmp.resolve("home2").toString());
    try {
      Result r = run("import", layout.toString(), "copied/busybox:1", "--format", "json");
      assertEquals(0, r.code(), r.err());
      assertEquals("copied/busybox:1",
          new ObjectMapper().readTree(r.out()).get(0).get("name").asText());
    } finally {
      new ProcessBuilder("rm", "-rf", tmp.resolve("home2").toString()).start().onExit().join();
    }
  }

  @Test
  void errorsHaveStableExitCodesAndSayWhatToDo() {
    Result missing = run("inspect", "nothing/here:1");
    assertEquals(ExitCodes.BAD_INPUT, missing.code());
    assertTrue(missing.err().contains("cocoon pull"), missing.err());

    Result badRef = run("inspect", "Bad//Ref");
    assertEquals(ExitCodes.BAD_INPUT, badRef.code());

    Result noRegistry = run("pull", "busybox:1");
    assertEquals(ExitCodes.BAD_INPUT, noRegistry.code());
    assertTrue(noRegistry.err().contains("no registry"), noRegistry.err());

    Result notArchive = run("import", tmp.toString());
    assertEquals(ExitCodes.BAD_INPUT, notArchive.code());

    Result unreachable = run("pull", "--quiet", "127.0.0.1:1/x/y:1");
    assertEquals(ExitCodes.UNAVAILABLE, unreachable.code(), unreachable.err());
  }
}

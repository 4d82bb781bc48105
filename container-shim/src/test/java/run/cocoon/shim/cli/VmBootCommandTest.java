package run.cocoon.shim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code cocoon vm boot} rejects bad input with a clear message and exit status 65 before it
 * touches KVM, so these run on any host.
 */
class VmBootCommandTest {
  @TempDir Path dir;

  private record Outcome(int code, String err) {}

  private Outcome run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Outcome(code, err.toString());
  }

  @Test
  void aKernelThatIsNeitherElfNorBzImageIsRejected() throws IOException {
    Path kernel = Files.writeString(dir.resolve("kernel"), "not a kernel at all, just text ".repeat(40));
    Outcome o = run("vm", "boot", "--kernel", kernel.toString(), "--no-stdin");
    assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
    assertTrue(o.err().contains("kernel"), o.err());
  }

  @Test
  void aMissingKernelFileIsRejected() {
    Outcome o = run("vm", "boot", "--kernel", dir.resolve("absent").toString(), "--no-stdin");
    assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
  }

  @Test
  void badSizesAndCountsAreRejected() throws IOException {
    Path kernel = Files.writeString(dir.resolve("k"), "x");
    assertEquals(ExitCodes.BAD_INPUT,
        run("vm", "boot", "--kernel", kernel.toString(), "--memory", "12Q").code());
    assertEquals(ExitCodes.BAD_INPUT,
        run("vm", "boot", "--kernel", kernel.toString(), "--memory", "1M").code());
    assertEquals(ExitCodes.BAD_INPUT,
        run("vm", "boot", "--kernel", kernel.toString(), "--cpus", "0").code());
    assertEquals(ExitCodes.USAGE, run("vm", "boot").code(), "no kernel");
  }

  @Test
  void aConfigFileWithUnknownKeysOrBadJsonIsRejected() throws IOException {
    Path bad = Files.writeString(dir.resolve("vm.json"), "{\"kernel\": \"/k\", \"cpuz\": 2}");
    Outcome o = run("vm", "boot", "--config", bad.toString());
    assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
    assertTrue(o.err().contains("cpuz"), o.err());
    Path notJson = Files.writeString(dir.resolve("x.json"), "{kernel");
    assertEquals(ExitCodes.BAD_INPUT, run("vm", "boot", "--config", notJson.toString()).code());
  }

  @Test
  void anOverlongCommandLineIsRejected() throws IOException {
    Path kernel = Files.writeString(dir.resolve("k2"), "y");
    Outcome o = run("vm", "boot", "--kernel", kernel.toString(), "--cmdline", "a".repeat(5000));
    assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
  }

  @Test
  void badDeviceFlagsAreRejectedWithTheReason() throws IOException {
    Path kernel = Files.writeString(dir.resolve("k3"), "z");
    String k = kernel.toString();
    String[][] cases = {
        {"--disk", "img,fast", "unknown option"},
        {"--disk", ",ro", "needs a path"},
        {"--disk", "img,serial=has space", "serial"},
        {"--disk", "img,serial=" + "s".repeat(21), "serial"},
        {"--vsock", "2,/tmp/v.sock", "CID"},
        {"--vsock", "x,/tmp/v.sock", "not a number"},
        {"--vsock", "3", "CID,SOCKET"},
        {"--net", "tap/0", "TAP name"},
        {"--net", "tap0,mac=01:00:00:00:00:01", "multicast"},
        {"--net", "tap0,mac=zz", "MAC"},
    };
    for (String[] c : cases) {
      Outcome o = run("vm", "boot", "--kernel", k, c[0], c[1], "--no-stdin");
      assertEquals(ExitCodes.BAD_INPUT, o.code(), c[1] + ": " + o.err());
      assertTrue(o.err().contains(c[2]), c[1] + ": " + o.err());
    }
  }

  @Test
  void tooManyDevicesAreRejected() throws IOException {
    Path kernel = Files.writeString(dir.resolve("k4"), "w");
    java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("vm", "boot",
        "--kernel", kernel.toString()));
    for (int i = 0; i <= run.cocoon.vmm.VmConfig.MAX_VIRTIO_DEVICES; i++) {
      args.add("--disk");
      args.add("d" + i);
    }
    Outcome o = run(args.toArray(String[]::new));
    assertEquals(ExitCodes.BAD_INPUT, o.code(), o.err());
    assertTrue(o.err().contains("virtio devices"), o.err());
  }
}

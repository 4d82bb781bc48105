package run.cocoon.tests.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.testbox.BoxScript;
import run.cocoon.testbox.NestedBox;
import run.cocoon.testbox.VmTestHost;
import run.cocoon.vmm.VmEnd;

/**
 * One {@code cocoon vm boot} of our kernel with the test initramfs, run where VM tests run
 * (directly on hardware virtualization, else in the nested box). Build it, add flags, run.
 */
public final class GuestRun {
  /** Time one boot may take in the slow nested box, including the JVM start. */
  public static final Duration BOOT_TIMEOUT = Duration.ofMinutes(4);
  /** Command line every test boot starts from. */
  public static final String CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off";

  private static Path initramfs;

  private final String scenario;
  private String kernel = "vmlinux";
  private int cpus = 1;
  private String memory = "256M";
  private final List<String> cmdlineExtra = new ArrayList<>();
  private final List<String> flags = new ArrayList<>();
  private Path initrd;
  private Duration timeout = BOOT_TIMEOUT;
  private String shellPrefix = "";
  private String shellSuffix;

  private GuestRun(String scenario) {
    this.scenario = scenario;
  }

  /** A boot running the initramfs scenario {@code scenario} ({@code cocoon.test=...}). */
  public static GuestRun scenario(String scenario) {
    return new GuestRun(scenario);
  }

  /**
   * Null when VM tests can run here, else why not (for {@code assumeTrue}); prepares the
   * initramfs once.
   */
  public static synchronized String unavailable() throws IOException {
    if (GuestKernel.directory() == null) {
      return "no guest kernel: " + GuestKernel.failure();
    }
    if (!Files.isExecutable(TestInitramfs.BUSYBOX)) {
      return "busybox-static is not installed (apt-get install busybox-static)";
    }
    if (initramfs == null) {
      Path work = workDirectory();
      initramfs = TestInitramfs.write(work.resolve("initramfs.cpio"));
    }
    return null;
  }

  /** A directory under the checkout that the box shares with the host, for test files. */
  public static Path workDirectory() throws IOException {
    Path work = BoxScript.projectRoot().resolve("tests/target/vm-boot");
    Files.createDirectories(work);
    return work;
  }

  public GuestRun kernel(String fileName) {
    this.kernel = fileName;
    return this;
  }

  /** Boots {@code image} instead of the test initramfs (e.g. the guest image). */
  public GuestRun initrd(Path image) {
    this.initrd = image;
    return this;
  }

  /** A longer limit than {@link #BOOT_TIMEOUT}, for guests that start a JVM. */
  public GuestRun timeout(Duration limit) {
    this.timeout = limit;
    return this;
  }

  public GuestRun cpus(int n) {
    this.cpus = n;
    return this;
  }

  public GuestRun memory(String size) {
    this.memory = size;
    return this;
  }

  /** Appends words to the kernel command line (e.g. {@code cocoon.flood=1024}). */
  public GuestRun cmdline(String... words) {
    cmdlineExtra.addAll(List.of(words));
    return this;
  }

  /** Adds {@code cocoon vm boot} flags (e.g. {@code --disk}, path). */
  public GuestRun flags(String... more) {
    flags.addAll(List.of(more));
    return this;
  }

  /**
   * Runs the VMM inside {@code bash -c "PREFIX java ... SUFFIX"}, for pipes, background helpers
   * and post-processing; both are shell text.
   */
  public GuestRun shell(String prefix, String suffix) {
    this.shellPrefix = prefix;
    this.shellSuffix = suffix;
    return this;
  }

  /** The java command line of the VMM. */
  public List<String> javaCommand() throws IOException {
    String why = unavailable();
    if (why != null) {
      throw new IllegalStateException(why);
    }
    List<String> java = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--illegal-native-access=deny",
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"),
        "run.cocoon.shim.cli.Main", "vm", "boot",
        "--kernel", GuestKernel.directory().resolve(kernel).toString(),
        "--initrd", (initrd == null ? initramfs : initrd).toString(),
        "--cmdline", String.join(" ", CMDLINE, "cocoon.test=" + scenario,
            String.join(" ", cmdlineExtra)).strip(),
        "--cpus", Integer.toString(cpus), "--memory", memory, "--no-stdin"));
    java.addAll(flags);
    return java;
  }

  /**
   * Boots, waits, prints a summary, returns the result. In the nested box a guest whose kernel
   * hung or triple-faulted before starting {@code /init} is booted once more, and both attempts
   * are reported: a known intermittent problem of L2 guests there (docs/test-box.md), which a
   * test of what happens after boot should not fail on. A second such boot fails the test.
   */
  public NestedBox.Result run() throws IOException {
    NestedBox.Result r = runOnce();
    if (VmTestHost.get().where() == VmTestHost.Where.BOX && stoppedBeforeInit(r)) {
      System.out.println("[report] " + scenario + ": the guest kernel stopped before /init (exit "
          + r.exitCode() + "), the nested box's intermittent L2 problem; booting once more");
      r = runOnce();
    }
    return r;
  }

  /** What the kernel prints when its own init is done. */
  static final String REACHED_INIT = "Run /init as init process";

  static boolean stoppedBeforeInit(NestedBox.Result r) {
    boolean hungOrTripleFault = r.timedOut()
        || r.exitCode() == VmEnd.EXIT_CRASHED && r.stderr().contains("triple fault");
    return hungOrTripleFault && !r.stdout().contains(REACHED_INIT);
  }

  private NestedBox.Result runOnce() throws IOException {
    List<String> java = javaCommand();
    List<String> command = shellSuffix == null ? java
        : List.of("bash", "-c", shellPrefix + quote(java) + " " + shellSuffix);
    NestedBox.Result r = VmTestHost.get().run(command, timeout);
    System.out.println("[" + scenario + ", " + kernel + ", " + cpus + " vCPU] exit " + r.exitCode()
        + " in " + r.elapsed().toMillis() + " ms\n" + tail(r.stdout()) + "\n" + tail(r.stderr()));
    return r;
  }

  /** Words quoted for bash. */
  public static String quote(List<String> words) {
    StringBuilder b = new StringBuilder();
    for (String w : words) {
      b.append('\'').append(w.replace("'", "'\\''")).append("' ");
    }
    return b.toString();
  }

  private static String tail(String s) {
    return s.length() <= 3000 ? s : "..." + s.substring(s.length() - 3000);
  }

  /** The first line the initramfs printed that starts with {@code marker}. */
  public static String line(String stdout, String marker) {
    return stdout.lines().filter(l -> l.startsWith(marker)).findFirst().orElse("");
  }

  /** The value of the first {@code MARK key=value} line, or null if there is none. */
  public static String value(String stdout, String mark, String key) {
    String line = line(stdout, mark + " " + key + "=");
    return line.isEmpty() ? null : line.substring(line.indexOf('=') + 1);
  }

  /**
   * Runs {@code main}'s {@code main(workDir)} on this JVM's class path where VMs run, with this
   * checkout's guest kernel and {@code guestImage}; in the box only /tmp is writable, so
   * {@code workDir} (state, disks, sockets) is there. A scenario: see {@link VmTestHost#runScenario}.
   */
  public static NestedBox.Result javaMain(Class<?> main, Path guestImage, String workDir,
      Duration timeout) throws IOException {
    List<String> command = List.of("bash", "-c", quote(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-Dcocoon.kernel=" + GuestKernel.directory().resolve("vmlinux"),
        "-Dcocoon.guest-image=" + guestImage,
        "-cp", System.getProperty("java.class.path"),
        main.getName(), workDir)));
    return VmTestHost.get().runScenario(command, timeout);
  }

  /** The scenario header line ({@code COCOON-TEST-MARKER scenario=... }). */
  public static String markerLine(String stdout) {
    return line(stdout, TestInitramfs.MARKER + " scenario=");
  }
}

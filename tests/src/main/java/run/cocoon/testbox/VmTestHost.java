package run.cocoon.testbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Where this JVM's VM end-to-end tests run: directly, when the host's /dev/kvm is hardware
 * virtualization, else in one shared {@link NestedBox} started on first use and powered off when
 * the JVM exits.
 *
 * <p>{@code -Dcocoon.vmtests=direct|box} (or env {@code COCOON_VMTESTS}) overrides the probe.
 *
 * <pre>{@code
 * VmTestHost host = VmTestHost.get();          // says once on stderr where and why
 * var r = host.run(List.of("java", "-jar", "cocoon.jar", "run", "--isolation=vm", ...), Duration.ofMinutes(2));
 * }</pre>
 */
public final class VmTestHost {

  public enum Where { DIRECT, BOX }

  private static volatile VmTestHost instance;

  private final Where where;
  private final String why;
  private NestedBox box;

  private VmTestHost(Where where, String why) {
    this.where = where;
    this.why = why;
  }

  /** The decision for this JVM, made (and printed to stderr) on first use. */
  public static VmTestHost get() {
    VmTestHost h = instance;
    if (h == null) {
      synchronized (VmTestHost.class) {
        h = instance;
        if (h == null) {
          h = decide(KvmProbe.get(), override());
          System.err.println("cocoon: " + h.describe());
          instance = h;
        }
      }
    }
    return h;
  }

  static VmTestHost decide(KvmProbe.Verdict verdict, String override) {
    if (override != null) {
      return switch (override.toLowerCase(Locale.ROOT)) {
        case "direct" -> new VmTestHost(Where.DIRECT, "forced by cocoon.vmtests=direct; probe said " + verdict);
        case "box" -> new VmTestHost(Where.BOX, "forced by cocoon.vmtests=box; probe said " + verdict);
        default -> throw new IllegalArgumentException(
            "cocoon.vmtests/COCOON_VMTESTS must be 'direct' or 'box', got '" + override + "'");
      };
    }
    return verdict.bootsLinux()
        ? new VmTestHost(Where.DIRECT, verdict.toString())
        : new VmTestHost(Where.BOX, verdict.toString());
  }

  private static String override() {
    String p = System.getProperty("cocoon.vmtests");
    if (p != null && !p.isBlank()) {
      return p;
    }
    String e = System.getenv("COCOON_VMTESTS");
    return e == null || e.isBlank() ? null : e;
  }

  public Where where() {
    return where;
  }

  public boolean direct() {
    return where == Where.DIRECT;
  }

  /** One line: where VM tests run and why. */
  public String describe() {
    return (where == Where.DIRECT ? "VM tests run directly on this host's KVM: "
        : "VM tests run inside the nested test box (tests/box/cocoon-box): ") + why;
  }

  /** The shared box (started on first call); only for {@link Where#BOX}. */
  public synchronized NestedBox box() throws IOException {
    if (where != Where.BOX) {
      throw new IllegalStateException("VM tests run directly here; no box: " + why);
    }
    if (box == null || !box.isAlive()) {
      NestedBox b = NestedBox.start(NestedBox.Options.defaults());
      Runtime.getRuntime().addShutdownHook(new Thread(b::close, "cocoon-box shutdown"));
      box = b;
    }
    return box;
  }

  /** Replaces the shared box with a freshly started one. */
  private synchronized NestedBox newBox() throws IOException {
    if (box != null) {
      box.close();
      box = null;
    }
    return box();
  }

  /**
   * Runs a test scenario whose guests must reach their agent before anything it checks happens.
   * As {@link #run}; in the box also once more, with a {@code [report]} line, when one of its
   * guests stopped before its agent answered (the box's intermittent L2 problem, docs/test-box.md).
   */
  public NestedBox.Result runScenario(List<String> command, Duration timeout) throws IOException {
    NestedBox.Result r = run(command, timeout);
    if (where == Where.BOX && BoxFlakes.guestStoppedBeforeAgent(r.stdout() + r.stderr())) {
      System.out.println("[report] a guest of this scenario stopped before its agent answered, the nested"
          + " box's intermittent L2 problem; running the scenario once more. First attempt:\n" + r.describe());
      r = run(command, timeout);
    }
    return r;
  }

  /** Runs {@code command} where VM tests run: a host process, or a command in the shared box. */
  public NestedBox.Result run(List<String> command, Duration timeout) throws IOException {
    return run(command, timeout, Map.of(), Path.of("").toAbsolutePath());
  }

  /**
   * Runs {@code command} where VM tests run. In the box, a command under which the box's own L1 VM
   * ended (an L1 kernel panic or QEMU dying: the box failed, not the command) runs once more in a
   * new box, with a {@code [report]} line; the second outcome stands.
   */
  public NestedBox.Result run(List<String> command, Duration timeout, Map<String, String> env, Path cwd)
      throws IOException {
    if (where == Where.BOX) {
      NestedBox.Result r = box().run(command, timeout, env, cwd);
      if (r.boxGone()) {
        System.out.println("[report] the nested box's L1 VM ended under a command; running it once more"
            + " in a new box. The box's account:\n" + r.stderr());
        r = newBox().run(command, timeout, env, cwd);
      }
      return r;
    }
    long t0 = System.nanoTime();
    ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().putAll(env);
    Process p = pb.start();
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), Thread::startVirtualThread);
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), Thread::startVirtualThread);
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor();
        return new NestedBox.Result(NestedBox.Result.TIMEOUT_EXIT, out.join(),
            err.join() + "cocoon-box: timeout: command '" + String.join(" ", command) + "' still running after "
                + timeout.toSeconds() + "s; killed it\n", Duration.ofNanos(System.nanoTime() - t0));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while running " + command, e);
    }
    return new NestedBox.Result(p.exitValue(), out.join(), err.join(), Duration.ofNanos(System.nanoTime() - t0));
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

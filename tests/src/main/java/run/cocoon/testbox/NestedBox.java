package run.cocoon.testbox;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A running nested test box: an L1 Linux VM with a real {@code /dev/kvm} that runs commands
 * chrooted into the host's (read-only) root filesystem. See docs/test-box.md.
 *
 * <p>This class drives {@code tests/box/cocoon-box}, which holds the whole mechanism: {@link
 * #start} runs {@code cocoon-box --serve SPOOL} and {@link #run} runs {@code cocoon-box --in SPOOL
 * ... -- COMMAND}. Starting a box costs seconds, so start one per test class (or suite) and run many
 * commands in it; commands may run concurrently. {@link #close} powers the box off and removes its
 * spool; if this JVM dies instead, the box notices its closed stdin and powers off by itself.
 */
public final class NestedBox implements AutoCloseable {

  /**
   * Box settings. {@code rwDirs} become writable in the box at the same paths. {@code rootCache}
   * is the 9p cache mode of the read-only host root: {@code loose} (fast; host changes to files the
   * box already read may go unseen) or {@code none} (follows the host; programs start slower).
   */
  public record Options(int cpus, int memoryMib, List<Path> rwDirs, Duration bootTimeout, String rootCache) {
    public Options {
      if (cpus < 1 || cpus > 64) {
        throw new IllegalArgumentException("cpus must be 1..64, got " + cpus);
      }
      if (memoryMib < 256) {
        throw new IllegalArgumentException("memoryMib must be >= 256, got " + memoryMib);
      }
      rwDirs = List.copyOf(rwDirs);
      Objects.requireNonNull(bootTimeout, "bootTimeout");
      if (bootTimeout.toSeconds() < 1) {
        throw new IllegalArgumentException("bootTimeout must be at least 1 s, got " + bootTimeout);
      }
      if (!List.of("none", "loose", "mmap").contains(rootCache)) {
        throw new IllegalArgumentException("rootCache must be none, loose or mmap, got '" + rootCache + "'");
      }
    }

    /** 2 vCPUs, 4 GiB, nothing writable but tmpfs, 5 minutes to boot (a busy host is slow), loose cache. */
    public static Options defaults() {
      return new Options(2, 4096, List.of(), Duration.ofMinutes(5), "loose");
    }

    public Options withCpus(int n) {
      return new Options(n, memoryMib, rwDirs, bootTimeout, rootCache);
    }

    public Options withMemoryMib(int mib) {
      return new Options(cpus, mib, rwDirs, bootTimeout, rootCache);
    }

    public Options withRw(Path... dirs) {
      List<Path> all = new ArrayList<>(rwDirs);
      all.addAll(List.of(dirs));
      return new Options(cpus, memoryMib, all, bootTimeout, rootCache);
    }

    public Options withRootCache(String mode) {
      return new Options(cpus, memoryMib, rwDirs, bootTimeout, mode);
    }

    public Options withBootTimeout(Duration d) {
      return new Options(cpus, memoryMib, rwDirs, d, rootCache);
    }
  }

  /** What a command did. {@code elapsed} is host wall time, including the hand-over to L1. */
  public record Result(int exitCode, String stdout, String stderr, Duration elapsed) {
    /** Exit status cocoon-box uses for a command killed at its timeout (as timeout(1) does). */
    public static final int TIMEOUT_EXIT = 124;

    /** Exit status cocoon-box uses when the box itself failed rather than the command. */
    public static final int BOX_FAILURE_EXIT = 125;

    public boolean timedOut() {
      return exitCode == TIMEOUT_EXIT && stderr.contains("cocoon-box: timeout:");
    }

    /** Whether the box's L1 VM ended under the command, so the command's own outcome is unknown. */
    public boolean boxGone() {
      return exitCode == BOX_FAILURE_EXIT && BoxFlakes.boxGone(stderr);
    }

    Result withStderr(String text) {
      return new Result(exitCode, stdout, text, elapsed);
    }

    /** Returns this result if the command exited 0, else throws an error showing its output. */
    public Result requireSuccess() {
      if (exitCode != 0) {
        throw new AssertionError(describe());
      }
      return this;
    }

    /** A multi-line account of the result, for failure messages. */
    public String describe() {
      return "exit status " + exitCode + (timedOut() ? " (timed out)" : "") + " after "
          + elapsed.toMillis() + " ms\n--- stdout:\n" + tail(stdout) + "\n--- stderr:\n" + tail(stderr);
    }

    private static String tail(String s) {
      return s.length() <= 20_000 ? s : "[... " + (s.length() - 20_000) + " chars]\n" + s.substring(s.length() - 20_000);
    }
  }

  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  private final Path script;
  private final Path spool;
  private final Process serve;
  private final StringBuffer serveLog;
  private final Thread serveStderr;
  private final Duration bootTime;
  private volatile boolean closed;

  private NestedBox(Path script, Path spool, Process serve, StringBuffer serveLog, Thread serveStderr,
      Duration bootTime) {
    this.script = script;
    this.spool = spool;
    this.serve = serve;
    this.serveLog = serveLog;
    this.serveStderr = serveStderr;
    this.bootTime = bootTime;
  }

  /**
   * Boots a box and returns once it takes commands. The first start on a machine also fetches the
   * Debian kernel and builds the box's initramfs (about a minute, then cached).
   */
  public static NestedBox start(Options options) throws IOException {
    Path script = BoxScript.locate();
    Path spool = Files.createTempDirectory("cocoon-box-serve-");
    List<String> cmd = new ArrayList<>(List.of(script.toString(), "--serve", spool.toString(),
        "--cpus", Integer.toString(options.cpus()),
        "--memory", Integer.toString(options.memoryMib()),
        "--boot-timeout", Long.toString(options.bootTimeout().toSeconds()),
        "--root-cache", options.rootCache()));
    for (Path d : options.rwDirs()) {
      cmd.add("--rw");
      cmd.add(d.toAbsolutePath().toString());
    }
    long t0 = System.nanoTime();
    // stdin stays an open pipe: when this JVM goes away, cocoon-box sees EOF and stops the box.
    Process serve = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    StringBuffer log = new StringBuffer();
    Thread serveStderr = pump(serve.getErrorStream(), log, "cocoon-box serve stderr");
    CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
      try {
        BufferedReader r = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null) {
          if (line.equals("ready")) {
            return line;
          }
          log.append(line).append('\n');
        }
        return null;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, Thread::startVirtualThread);
    String got;
    try {
      got = ready.get(options.bootTimeout().toSeconds() + 60, TimeUnit.SECONDS);
    } catch (TimeoutException | ExecutionException e) {
      got = null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      got = null;
    }
    if (got == null) {
      stop(serve);
      deleteTree(spool);
      throw new IOException("the nested test box did not start (" + String.join(" ", cmd) + ")\n" + log);
    }
    Duration boot = Duration.ofNanos(System.nanoTime() - t0);
    return new NestedBox(script, spool, serve, log, serveStderr, boot);
  }

  /** Host wall time from starting QEMU to the box taking commands (includes any asset build). */
  public Duration bootTime() {
    return bootTime;
  }

  /** The box's spool directory (its console log is console.log there). */
  public Path spool() {
    return spool;
  }

  /** Runs a command in the host's current directory with no extra environment. */
  public Result run(List<String> command, Duration timeout) {
    return run(command, timeout, Map.of(), Path.of("").toAbsolutePath());
  }

  /**
   * Runs {@code command} inside the box in {@code cwd} (a host path; it must be visible in the box:
   * the host's /tmp is not, unless it was given as a writable directory) with {@code env} added to
   * the box's small base environment. At {@code timeout} the command's process group is killed and
   * the result has exit status 124 and {@link Result#timedOut()}; the box stays usable.
   */
  public Result run(List<String> command, Duration timeout, Map<String, String> env, Path cwd) {
    if (closed) {
      throw new IllegalStateException("this box is closed");
    }
    if (command.isEmpty()) {
      throw new IllegalArgumentException("empty command");
    }
    long secs = Math.max(1, (timeout.toMillis() + 999) / 1000);
    List<String> cmd = new ArrayList<>(List.of(script.toString(), "--in", spool.toString(),
        "--timeout", Long.toString(secs), "--cwd", cwd.toAbsolutePath().toString()));
    env.forEach((k, v) -> {
      if (!ENV_NAME.matcher(k).matches()) {
        throw new IllegalArgumentException("bad environment variable name '" + k + "'");
      }
      cmd.add("--env");
      cmd.add(k + "=" + v);
    });
    cmd.add("--");
    cmd.addAll(command);
    long t0 = System.nanoTime();
    try {
      Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), Thread::startVirtualThread);
      String out = readAll(p.getInputStream());
      // cocoon-box --in gives up by itself 30 s after the timeout; this is the last resort.
      if (!p.waitFor(secs + 120, TimeUnit.SECONDS)) {
        stop(p);
        throw new IllegalStateException("cocoon-box --in did not finish; box log:\n" + serveLog);
      }
      Result r = new Result(p.exitValue(), out, err.join(), Duration.ofNanos(System.nanoTime() - t0));
      return r.boxGone() ? r.withStderr(r.stderr() + "--- the box's own account:\n" + serveReport()) : r;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + script, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }

  /** What {@code cocoon-box --serve} said, once it has ended (or after 20 s). */
  private String serveReport() throws InterruptedException {
    if (serve.waitFor(20, TimeUnit.SECONDS)) {
      serveStderr.join(Duration.ofSeconds(5));
    }
    return serveLog.toString();
  }

  /** Whether the box's QEMU is still running. */
  public boolean isAlive() {
    return serve.isAlive();
  }

  /** Powers the box off and removes its spool. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      serve.getOutputStream().close();
    } catch (IOException ignored) {
      // The pipe is gone already: the box is stopping or stopped.
    }
    try {
      if (!serve.waitFor(30, TimeUnit.SECONDS)) {
        stop(serve);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(serve);
    }
    deleteTree(spool);
  }

  /** SIGTERM (cocoon-box's trap stops QEMU and cleans up), then SIGKILL for what is left. */
  private static void stop(Process p) {
    List<ProcessHandle> family = Stream.concat(Stream.of(p.toHandle()), p.descendants()).toList();
    p.destroy();
    try {
      p.waitFor(15, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    family.forEach(ProcessHandle::destroyForcibly);
  }

  private static Thread pump(InputStream in, StringBuffer sink, String name) {
    return Thread.ofVirtual().name(name).start(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          sink.append(line).append('\n');
          System.err.println(line);
        }
      } catch (IOException ignored) {
        // The process ended.
      }
    });
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // Best effort; a leftover is reported by the tests that count them.
        }
      });
    } catch (IOException ignored) {
      // Same.
    }
  }
}

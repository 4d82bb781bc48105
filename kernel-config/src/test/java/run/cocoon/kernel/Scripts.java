package run.cocoon.kernel;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the module's shell scripts and other programs the tests need, with a hard timeout. */
final class Scripts {
    /** Exit status of build-kernel when this machine cannot build (not a failure of the kernel config). */
    static final int BUILD_UNAVAILABLE = 3;

    private Scripts() {}

    /** The kernel-config module directory (Maven runs tests there; basedir is set by surefire). */
    static Path moduleDir() {
        String basedir = System.getProperty("basedir");
        Path dir = Path.of(basedir != null ? basedir : System.getProperty("user.dir")).toAbsolutePath();
        if (!Files.isRegularFile(dir.resolve("microvm-x86_64.config"))
                && Files.isRegularFile(dir.resolve("kernel-config/microvm-x86_64.config"))) {
            dir = dir.resolve("kernel-config");
        }
        return dir;
    }

    static Path script(String name) {
        return moduleDir().resolve(name);
    }

    static Path fragment() {
        return moduleDir().resolve("microvm-x86_64.config");
    }

    record Result(int exitCode, String stdout, String stderr, Duration elapsed) {
        String describe() {
            return "exit " + exitCode + " after " + elapsed.toMillis() + " ms\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    static Result run(Duration timeout, List<String> command) {
        return run(timeout, command, Map.of());
    }

    /** Runs a command to completion; on timeout kills it and its descendants and throws. */
    static Result run(Duration timeout, List<String> command, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command));
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        long start = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread outPump = pump(p.getInputStream(), out);
        Thread errPump = pump(p.getErrorStream(), err);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new AssertionError("timed out after " + timeout + ": " + command + "\n--- stderr so far\n"
                        + err.toString(StandardCharsets.UTF_8));
            }
            outPump.join(5_000);
            errPump.join(5_000);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + command, e);
        }
        return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                Duration.ofNanos(System.nanoTime() - start));
    }

    static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread pump(InputStream in, ByteArrayOutputStream sink) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (in) {
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (sink) {
                        sink.write(buf, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // The process was killed; what was read so far is kept.
            }
        });
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}

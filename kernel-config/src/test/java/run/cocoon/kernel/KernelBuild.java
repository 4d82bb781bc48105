package run.cocoon.kernel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** The cached guest kernel, obtained through build-kernel exactly as other modules obtain it. */
final class KernelBuild {
    /** A cold build is ~5 minutes on 2 idle cores; leave room for a busy machine. */
    static final Duration COLD_BUILD_TIMEOUT = Duration.ofMinutes(40);

    private static Path cached;

    private KernelBuild() {}

    /**
     * Returns the cache directory of the kernel for our fragment, building it if needed. Aborts
     * (skips) the calling test when this machine cannot build, which build-kernel reports with exit 3.
     */
    static synchronized Path cacheDir() {
        if (cached != null) {
            return cached;
        }
        Path script = Scripts.script("build-kernel");
        Assumptions.assumeTrue(Files.isExecutable(script), "skipped: " + script + " is missing or not executable");
        Scripts.Result r = Scripts.run(COLD_BUILD_TIMEOUT, List.of(script.toString()));
        Assumptions.assumeTrue(r.exitCode() != Scripts.BUILD_UNAVAILABLE,
                () -> "skipped: this machine cannot build the guest kernel: " + r.stderr().strip());
        if (r.exitCode() != 0) {
            throw new AssertionError("build-kernel failed: " + r.describe());
        }
        Path dir = Path.of(r.stdout().strip());
        if (!Files.isDirectory(dir)) {
            throw new AssertionError("build-kernel printed something that is not a directory: " + r.describe());
        }
        cached = dir;
        return dir;
    }
}

package run.cocoon.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** build-kernel as other modules use it: cache layout, cache hit, and a loud failure on a dropped option. */
@Tag("slow")
class BuildKernelTest {
    /** The contract says "well under a few seconds"; this bound leaves room for a loaded machine. */
    private static final Duration CACHE_HIT_BOUND = Duration.ofSeconds(5);

    private static Path dir;

    @BeforeAll
    @Timeout(value = 45, unit = java.util.concurrent.TimeUnit.MINUTES)
    static void build() {
        dir = KernelBuild.cacheDir();
    }

    @Test
    void secondRunIsACacheHitThatPrintsOnlyTheDirectory() {
        Scripts.Result r = Scripts.run(Duration.ofSeconds(60), List.of(Scripts.script("build-kernel").toString()));
        assertEquals(0, r.exitCode(), r::describe);
        assertEquals(dir + "\n", r.stdout(), "stdout must be exactly the cache directory");
        assertTrue(r.elapsed().compareTo(CACHE_HIT_BOUND) < 0, "cache hit took " + r.elapsed().toMillis() + " ms");
        System.out.printf("[kernel] cache hit: %d ms -> %s%n", r.elapsed().toMillis(), dir);
    }

    @Test
    void cacheDirectoryIsNamedByTheKeyOutsideTheClone() {
        Scripts.Result r = Scripts.run(Duration.ofSeconds(60), List.of(Scripts.script("build-kernel").toString(), "--print-key"));
        assertEquals(0, r.exitCode(), r::describe);
        String key = r.stdout().strip();
        assertEquals(key, dir.getFileName().toString());
        assertTrue(key.matches("linux-[A-Za-z0-9.+_-]+-[0-9a-f]{16}"), key);
        Path clone = Scripts.moduleDir().getParent();
        assertTrue(!dir.toAbsolutePath().startsWith(clone), dir + " must be outside the clone " + clone);
    }

    @Test
    void cacheHoldsTheKernelImagesConfigAndBuildInfo() throws IOException, NoSuchAlgorithmException {
        byte[] vmlinux = Files.readAllBytes(dir.resolve("vmlinux"));
        assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F', 2 /* 64-bit */}, java.util.Arrays.copyOf(vmlinux, 5));

        // bzImage: the x86 boot protocol header "HdrS" at 0x202, and a PVH-capable vmlinux payload.
        byte[] bz = Files.readAllBytes(dir.resolve("bzImage"));
        assertEquals("HdrS", new String(bz, 0x202, 4, StandardCharsets.US_ASCII));
        int protocol = ByteBuffer.wrap(bz, 0x206, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
        assertTrue(protocol >= 0x20c, "boot protocol " + Integer.toHexString(protocol));

        String info = Files.readString(dir.resolve("build-info.json"));
        String fragmentSha = HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(Scripts.fragment())));
        assertEquals(fragmentSha, field(info, "fragment_sha256"));
        assertEquals("linux-source-6.1", field(info, "source_package"));
        assertTrue(dir.getFileName().toString().startsWith("linux-" + field(info, "source_version")), info);
        assertEquals(String.valueOf(vmlinux.length), number(info, "vmlinux"));
        assertEquals(String.valueOf(bz.length), number(info, "bzImage"));
        System.out.printf("[kernel] %s: bzImage %d bytes, vmlinux %d bytes, compile %s s%n",
                field(info, "kernel_release"), bz.length, vmlinux.length, number(info, "build_seconds"));
    }

    @Test
    void cachedConfigKeepsEveryOptionOfTheFragment() {
        Scripts.Result r = Scripts.run(Duration.ofSeconds(60), List.of(Scripts.script("check-config").toString(),
                Scripts.fragment().toString(), dir.resolve("config").toString()));
        assertEquals(0, r.exitCode(), r::describe);
    }

    @Test
    void cachedConfigHasNoLoadableModulesAndTheGuestEssentials() throws IOException {
        List<String> config = Files.readAllLines(dir.resolve("config"));
        assertTrue(config.contains("# CONFIG_MODULES is not set"));
        for (String want : List.of("CONFIG_PVH=y", "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y", "CONFIG_SERIAL_8250_CONSOLE=y")) {
            assertTrue(config.contains(want), want);
        }
    }

    /** A fragment whose option Kconfig drops (KVM_GUEST depends on PARAVIRT) must fail before compiling. */
    @Test
    @Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
    void aDroppedOptionFailsTheBuildLoudly(@TempDir Path tmp) throws IOException {
        Path bad = Files.writeString(tmp.resolve("dropped.config"), """
                # 64-bit, as in our fragment.
                CONFIG_64BIT=y
                # Asked for, but its dependency PARAVIRT is left off below, so Kconfig drops it.
                CONFIG_KVM_GUEST=y
                # Off on purpose for this test.
                # CONFIG_PARAVIRT is not set
                """);
        Scripts.Result r = Scripts.run(KernelBuild.COLD_BUILD_TIMEOUT,
                List.of(Scripts.script("build-kernel").toString(), "--check-only", "--fragment", bad.toString()));
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("DROPPED CONFIG_KVM_GUEST"), r::describe);
        assertTrue(r.stderr().contains("depends on PARAVIRT"), r::describe);
        assertTrue(r.stderr().contains("nothing was built"), r::describe);
        assertEquals("", r.stdout(), r::describe);
    }

    @Test
    void helpAndBadArgumentsAreExplained() {
        Scripts.Result help = Scripts.run(Duration.ofSeconds(30), List.of(Scripts.script("build-kernel").toString(), "--help"));
        assertEquals(0, help.exitCode(), help::describe);
        assertTrue(help.stdout().contains("--print-key"), help::describe);
        Scripts.Result bad = Scripts.run(Duration.ofSeconds(30), List.of(Scripts.script("build-kernel").toString(), "--bogus"));
        assertEquals(1, bad.exitCode(), bad::describe);
        assertTrue(bad.stderr().contains("see --help"), bad::describe);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return m.group(1);
    }

    private static String number(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), name + " missing in " + json);
        return m.group(1);
    }
}

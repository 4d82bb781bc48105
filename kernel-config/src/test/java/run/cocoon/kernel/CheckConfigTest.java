package run.cocoon.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The options check on its own: fragment form, and survival against a given final .config. */
class CheckConfigTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private Scripts.Result check(String... args) {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Scripts.script("check-config").toString());
        cmd.addAll(List.of(args));
        return Scripts.run(TIMEOUT, cmd);
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void ourFragmentIsWellFormedAndEveryOptionHasAReason() {
        Scripts.Result r = check(Scripts.fragment().toString());
        assertEquals(0, r.exitCode(), r::describe);
    }

    @Test
    void ourFragmentAsksForWhatTheVmmAndTheJvmNeed() throws IOException {
        // The options other modules rely on by name; losing one from the fragment must be deliberate.
        String fragment = Files.readString(Scripts.fragment());
        for (String line : List.of("CONFIG_64BIT=y", "CONFIG_SMP=y", "CONFIG_PVH=y", "CONFIG_KVM_GUEST=y",
                "CONFIG_PARAVIRT=y", "CONFIG_X86_MPPARSE=y", "CONFIG_SERIAL_8250_CONSOLE=y",
                "CONFIG_BLK_DEV_INITRD=y", "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y", "CONFIG_VIRTIO_BLK=y",
                "CONFIG_VIRTIO_NET=y", "CONFIG_VIRTIO_VSOCKETS=y", "CONFIG_HW_RANDOM_VIRTIO=y", "CONFIG_EXT4_FS=y",
                "CONFIG_OVERLAY_FS=y", "CONFIG_MEMCG=y", "CONFIG_CGROUP_PIDS=y", "CONFIG_CGROUP_SCHED=y",
                "CONFIG_BLK_CGROUP=y", "CONFIG_SECCOMP_FILTER=y", "CONFIG_USER_NS=y", "CONFIG_PID_NS=y",
                "CONFIG_NET_NS=y", "CONFIG_UNIX98_PTYS=y", "CONFIG_POSIX_MQUEUE=y", "CONFIG_FUTEX=y",
                "CONFIG_EPOLL=y", "CONFIG_TIMERFD=y", "CONFIG_SIGNALFD=y", "CONFIG_EVENTFD=y", "CONFIG_SHMEM=y",
                "CONFIG_SYSVIPC=y", "CONFIG_FILE_LOCKING=y", "CONFIG_PROC_SYSCTL=y", "CONFIG_HIGH_RES_TIMERS=y",
                "CONFIG_NO_HZ_IDLE=y", "# CONFIG_MODULES is not set",
                "# CONFIG_VSOCKETS_LOOPBACK is not set")) {
            assertTrue(fragment.lines().anyMatch(line::equals), "fragment lacks: " + line);
        }
    }

    @Test
    void allOptionsPresentPasses() throws IOException {
        Path frag = write("f.config", "# why a\nCONFIG_A=y\n# why b\n# CONFIG_B is not set\n# why c\nCONFIG_C=\"x y\"\n");
        Path conf = write(".config", "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=y\n");
        Scripts.Result r = check(frag.toString(), conf.toString());
        assertEquals(0, r.exitCode(), r::describe);
    }

    @Test
    void anOptionKconfigDroppedFailsAndIsNamed() throws IOException {
        Path frag = write("f.config", "# why a\nCONFIG_A=y\n# why b\nCONFIG_B=y\n# why n\nCONFIG_N=16\n");
        // B was dropped (unmet dependency: olddefconfig writes "is not set"), N was clamped to its range.
        Path conf = write(".config", "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=8\n");
        Scripts.Result r = check(frag.toString(), conf.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("DROPPED CONFIG_B"), r::describe);
        assertTrue(r.stderr().contains("DROPPED CONFIG_N"), r::describe);
        assertTrue(r.stderr().contains("2 of 3 options"), r::describe);
    }

    @Test
    void anOptionMissingFromTheFinalConfigFails() throws IOException {
        // A symbol inside a disabled menu does not appear in .config at all.
        Path frag = write("f.config", "# why\nCONFIG_VIRTIO_BLK=y\n");
        Path conf = write(".config", "CONFIG_A=y\n");
        Scripts.Result r = check(frag.toString(), conf.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("DROPPED CONFIG_VIRTIO_BLK"), r::describe);
    }

    @Test
    void anOptionAskedOffButTurnedOnFails() throws IOException {
        Path frag = write("f.config", "# no modules\n# CONFIG_MODULES is not set\n# absent is off\n# CONFIG_GONE is not set\n");
        Path conf = write(".config", "CONFIG_MODULES=y\n");
        Scripts.Result r = check(frag.toString(), conf.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("DROPPED CONFIG_MODULES: asked off"), r::describe);
        assertTrue(!r.stderr().contains("CONFIG_GONE"), r::describe);
    }

    @Test
    void anOptionWithoutAReasonFails() throws IOException {
        Path frag = write("f.config", "# why a\nCONFIG_A=y\nCONFIG_B=y\n");
        Scripts.Result r = check(frag.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("CONFIG_B has no one-line"), r::describe);
    }

    @Test
    void aSectionHeaderIsNotAReason() throws IOException {
        Path frag = write("f.config", "## --- section\nCONFIG_A=y\n");
        Scripts.Result r = check(frag.toString());
        assertEquals(1, r.exitCode(), r::describe);
    }

    @Test
    void duplicatesAndMalformedLinesFail() throws IOException {
        Path frag = write("f.config", "# a\nCONFIG_A=y\n# a again\nCONFIG_A=n\n# bad\nCONFIG_B y\n#CONFIG_C is not set\n");
        Scripts.Result r = check(frag.toString());
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.stderr().contains("CONFIG_A appears twice"), r::describe);
        assertTrue(r.stderr().contains("malformed option line: CONFIG_B y"), r::describe);
        assertTrue(r.stderr().contains("malformed option line: #CONFIG_C is not set"), r::describe);
    }

    @Test
    void helpExplainsUsage() {
        Scripts.Result r = check("--help");
        assertEquals(0, r.exitCode(), r::describe);
        assertTrue(r.stdout().startsWith("Usage: check-config"), r::describe);
    }
}

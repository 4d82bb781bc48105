package run.cocoon.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the cached guest kernel under QEMU TCG (no KVM needed: an independent check of the kernel,
 * not of our VMM) on QEMU's microvm machine, which like our VMM has no PCI and announces
 * virtio-mmio devices on the command line (acpi=off) or in hardware-reduced ACPI (acpi=on).
 * A busybox /init reports what the kernel offers and then ends the VM: by rebooting (a reset,
 * without ACPI) or by powering off (the ACPI sleep control register).
 */
@Tag("slow")
class QemuBootTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(3);
    private static final long DISK_BYTES = 1 << 20;

    @Test
    @Timeout(value = 45, unit = TimeUnit.MINUTES)
    void bootsToBusyboxInitAndTheGuestEndsTheVm(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Scripts.onPath("qemu-system-x86_64"),
                "skipped: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)");
        Assumptions.assumeTrue(Files.isExecutable(BUSYBOX), "skipped: /bin/busybox missing (Debian package busybox-static)");
        Path bzImage = KernelBuild.cacheDir().resolve("bzImage");

        String marker = "COCOON-INIT-" + UUID.randomUUID();
        Path initrd = tmp.resolve("initramfs.cpio.gz");
        writeInitramfs(initrd, reportingInit(marker));
        Path disk = tmp.resolve("disk.raw");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(DISK_BYTES);
        }

        // acpi=off: QEMU then announces the virtio-mmio devices on the command line, as our VMM does,
        // and describes the CPUs with an MP table only.
        List<String> cmd = qemu(bzImage, initrd, "microvm,acpi=off", List.of(
                "-device", "virtio-rng-device",
                "-drive", "id=d0,if=none,format=raw,file=" + disk,
                "-device", "virtio-blk-device,drive=d0"));
        Boot boot = Boot.run(cmd, marker, BOOT_TIMEOUT);
        String console = boot.console();

        assertTrue(boot.exited(), "QEMU did not exit: the guest could not end its VM\n" + console);
        assertNotNull(boot.markerLine(), "no marker from /init\n" + console);
        Map<String, String> checks = boot.checks();
        double guestUptime = Double.parseDouble(boot.markerLine().replaceAll(".*uptime=", "").strip());

        assertEquals("2", checks.get("cpus"), "both vCPUs online (MP table, no ACPI)\n" + console);
        for (String c : List.of("cpuset", "cpu", "io", "memory", "pids")) {
            assertTrue((" " + checks.get("controllers") + " ").contains(" " + c + " "),
                    "cgroup v2 controller " + c + "\n" + console);
        }
        for (String ns : List.of("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")) {
            assertTrue((" " + checks.get("namespaces") + " ").contains(" " + ns + " "), "namespace " + ns + "\n" + console);
        }
        assertEquals("ok", checks.get("overlay"), console);
        assertEquals("inner", checks.get("unshare"), "new user+uts+pid+net+ipc+mnt namespaces\n" + console);
        assertEquals("ok", checks.get("devpts"), console);
        assertEquals("ok", checks.get("mqueue"), console);
        assertEquals(String.valueOf(DISK_BYTES / 512), checks.get("vda-sectors"), "virtio-blk over virtio-mmio\n" + console);
        assertTrue(checks.getOrDefault("hwrng", "").startsWith("virtio_rng"), "virtio-rng\n" + console);
        assertTrue(Integer.parseInt(checks.getOrDefault("config-options", "0")) > 100, "/proc/config.gz\n" + console);
        assertEquals("ok", checks.get("done"), console);

        System.out.printf("[kernel] TCG microvm boot: /init at %.2f s guest uptime, marker after %d ms wall,"
                        + " VM ended after %d ms wall (QEMU start to exit)%n",
                guestUptime, boot.markerMillis(), boot.exitMillis());
    }

    /**
     * With hardware-reduced ACPI (QEMU microvm's acpi=on: FADT sleep control register, no
     * chipset), "poweroff -f" really powers the VM off; without ACPI it would only halt.
     */
    @Test
    @Disabled("QEMU 7.2 microvm acpi=on: this kernel rejects QEMU's DSDT (\"ACPI Error: AE_BAD_PARAMETER,"
            + " During Region initialization\", no pm_power_off, so poweroff -f halts) and /init's serial output"
            + " never appears (no UART interrupt); see docs/kernel.md. Our VMM's own ACPI tables are the real test.")
    @Timeout(value = 45, unit = TimeUnit.MINUTES)
    void guestPowersOffThroughHardwareReducedAcpi(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Scripts.onPath("qemu-system-x86_64"),
                "skipped: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)");
        Assumptions.assumeTrue(Files.isExecutable(BUSYBOX), "skipped: /bin/busybox missing (Debian package busybox-static)");
        Path kernel = KernelBuild.cacheDir();
        Assumptions.assumeTrue(Files.readAllLines(kernel.resolve("config")).contains("CONFIG_ACPI=y"),
                "skipped: this kernel is built without ACPI, so it has no power-off device");
        String marker = "COCOON-POWEROFF-" + UUID.randomUUID();
        Path initrd = tmp.resolve("initramfs.cpio.gz");
        writeInitramfs(initrd, """
                #!/bin/busybox sh
                /bin/busybox mount -t proc proc /proc
                read -r up idle < /proc/uptime
                echo "MARKER uptime=$up"
                /bin/busybox poweroff -f
                """.replace("MARKER", marker));
        // No -no-reboot here: only a real power-off may end QEMU within the timeout.
        List<String> cmd = new ArrayList<>(qemu(kernel.resolve("bzImage"), initrd, "microvm,acpi=on", List.of()));
        cmd.remove("-no-reboot");
        Boot boot = Boot.run(cmd, marker, BOOT_TIMEOUT);
        assertNotNull(boot.markerLine(), "no marker from /init\n" + boot.console());
        assertTrue(boot.exited(), "QEMU still ran after poweroff -f: no ACPI power-off\n" + boot.console());
        assertTrue(boot.console().contains("reboot: Power down"), boot.console());
        System.out.printf("[kernel] TCG microvm ACPI power-off: VM ended after %d ms wall%n", boot.exitMillis());
    }

    private static List<String> qemu(Path bzImage, Path initrd, String machine, List<String> devices) {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64",
                "-accel", "tcg", "-M", machine, "-smp", "2", "-m", "256",
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-serial", "stdio",
                // A guest reset ends QEMU, as it ends a VM in our VMM.
                "-no-reboot",
                "-kernel", bzImage.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 reboot=t panic=-1"));
        cmd.addAll(devices);
        return cmd;
    }

    /** /init that reports what the kernel offers, then ends the VM by rebooting. */
    private static String reportingInit(String marker) {
        return """
                #!/bin/busybox sh
                # PID 1 of the boot test: say when init started, report what the kernel offers, end the VM.
                /bin/busybox mount -t proc proc /proc
                read -r up idle < /proc/uptime
                echo "MARKER uptime=$up"
                /bin/busybox --install -s /bin
                export PATH=/bin
                say() { echo "cocoon-check $1=$2"; }
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                say cpus "$(nproc)"
                say kernel "$(uname -r)"
                mount -t cgroup2 cgroup2 /sys/fs/cgroup && say controllers "$(cat /sys/fs/cgroup/cgroup.controllers)"
                say namespaces "$(ls /proc/self/ns | tr '\\n' ' ')"
                mount -t tmpfs tmpfs /tmp && mkdir /tmp/l /tmp/u /tmp/w /tmp/m && echo lower > /tmp/l/f \\
                  && mount -t overlay overlay -o lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w /tmp/m \\
                  && echo upper > /tmp/m/f && [ "$(cat /tmp/l/f)" = lower ] && [ "$(cat /tmp/u/f)" = upper ] \\
                  && say overlay ok
                unshare -r -m -u -i -n -p -f sh -c 'hostname inner && echo "cocoon-check unshare=$(hostname)"'
                mkdir -p /dev/pts /dev/mqueue
                mount -t devpts devpts /dev/pts && say devpts ok
                mount -t mqueue mqueue /dev/mqueue && say mqueue ok
                say vda-sectors "$(cat /sys/block/vda/size)"
                say hwrng "$(cat /sys/class/misc/hw_random/rng_current)"
                say config-options "$(zcat /proc/config.gz | grep -c '^CONFIG_')"
                say done ok
                reboot -f
                """.replace("MARKER", marker);
    }

    private static void writeInitramfs(Path target, String init) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        new Newc(raw)
                .directory("/bin", 0755)
                .file("/bin/busybox", 0755, Files.readAllBytes(BUSYBOX))
                .directory("/dev", 0755)
                .characterDevice("/dev/console", 0600, 5, 1)
                .directory("/proc", 0555)
                .directory("/sys", 0555)
                .directory("/tmp", 01777)
                .file("/init", 0755, init.getBytes(StandardCharsets.UTF_8))
                .finish();
        try (GZIPOutputStream gz = new GZIPOutputStream(Files.newOutputStream(target))) {
            raw.writeTo(gz);
        }
    }

    /** One QEMU run: console lines with their arrival time, the marker, whether QEMU exited by itself. */
    record Boot(List<String> lines, String markerLine, long markerMillis, long exitMillis, boolean exited) {
        String console() {
            return String.join("\n", lines);
        }

        Map<String, String> checks() {
            Map<String, String> m = new HashMap<>();
            for (String l : lines) {
                int i = l.indexOf("cocoon-check ");
                int eq = l.indexOf('=', i);
                if (i >= 0 && eq > 0) {
                    m.put(l.substring(i + "cocoon-check ".length(), eq), l.substring(eq + 1).strip());
                }
            }
            return m;
        }

        static Boot run(List<String> cmd, String marker, Duration timeout) throws IOException, InterruptedException {
            long start = System.nanoTime();
            Process qemu = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            List<String> lines = Collections.synchronizedList(new ArrayList<>());
            long[] markerAt = {-1};
            String[] markerLine = {null};
            CountDownLatch drained = new CountDownLatch(1);
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(qemu.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) {
                        if (markerLine[0] == null && l.contains(marker)) {
                            markerAt[0] = (System.nanoTime() - start) / 1_000_000;
                            markerLine[0] = l;
                        }
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // QEMU was killed.
                } finally {
                    drained.countDown();
                }
            });
            boolean exited = qemu.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            long exitMillis = (System.nanoTime() - start) / 1_000_000;
            if (!exited) {
                Scripts.kill(qemu);
            }
            drained.await(10, TimeUnit.SECONDS);
            if (exited && qemu.exitValue() != 0) {
                lines.add("[qemu exit status " + qemu.exitValue() + "]");
            }
            return new Boot(List.copyOf(lines), markerLine[0], markerAt[0], exitMillis, exited && qemu.exitValue() == 0);
        }
    }
}

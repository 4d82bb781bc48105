package run.cocoon.testbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * SMP through the box: L1's own vCPUs, and an L2 guest booted by QEMU on L1's KVM
 * ({@code -enable-kvm -M microvm -smp 2}) with the box's Debian kernel and a busybox initramfs
 * that prints what the guest kernel brought online. The L2 CPU count is reported, and asserted
 * only to be at least one: this test documents what works.
 */
@Tag("slow")
@Timeout(value = 15, unit = java.util.concurrent.TimeUnit.MINUTES)
class NestedGuestSmpTest {
  private static NestedBox box;
  private static Path work;

  @BeforeAll
  static void boot() throws IOException {
    work = Files.createTempDirectory("cocoon-box-l2-");
    box = NestedBox.start(NestedBox.Options.defaults().withRw(work));
  }

  @AfterAll
  static void shutdown() {
    if (box != null) {
      box.close();
    }
    NestedBox.deleteTree(work);
  }

  @Test
  void l1BringsAllCpusOnline() {
    NestedBox.Result r = box.run(List.of("sh", "-c", "cat /sys/devices/system/cpu/online; nproc"), Duration.ofMinutes(3))
        .requireSuccess();
    assertEquals("0-1\n2\n", r.stdout());
  }

  @Test
  void l2GuestWithTwoVcpusOnL1Kvm() throws Exception {
    Path kernel = preparedAssets().resolve("kernel");
    Path initrd = l2Initramfs();
    List<String> qemu = List.of("timeout", "240", "qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-cpu", "host",
        "-smp", "2", "-m", "256", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-serial", "stdio", "-kernel", kernel.toString(), "-initrd", initrd.toString(),
        "-append", "console=ttyS0 reboot=t panic=-1 loglevel=4 tsc=reliable rdinit=/init");
    NestedBox.Result r = box.run(qemu, Duration.ofMinutes(6));
    String out = r.stdout().replace("\r", "");
    Matcher online = Pattern.compile("L2 online=(\\S+) nproc=(\\d+) uptime=(\\S+)").matcher(out);
    assertTrue(online.find(), () -> "L2 never reached its /init:\n" + r.describe());
    System.err.println("[report] L2 (microvm -smp 2 on L1's KVM): cpus online " + online.group(1) + ", nproc "
        + online.group(2) + ", /init reached at L2 uptime " + online.group(3) + " s; whole qemu run "
        + r.elapsed().toMillis() + " ms, exit " + r.exitCode());
    for (String line : out.split("\n")) {
      if (line.contains("smpboot") || line.contains("smp:") || line.contains("CPU1") || line.contains("APIC")) {
        System.err.println("[report]   L2: " + line.strip());
      }
    }
    assertTrue(Integer.parseInt(online.group(2)) >= 1);
  }

  /** The box's kernel directory, as `cocoon-box --prepare` prints it. */
  private static Path preparedAssets() throws Exception {
    Process p = new ProcessBuilder(BoxScript.locate().toString(), "--prepare")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    assertEquals(0, p.waitFor());
    return Path.of(out);
  }

  /** A busybox initramfs whose /init prints CPU facts and resets the guest (QEMU then exits). */
  private static Path l2Initramfs() throws Exception {
    Path root = work.resolve("l2root");
    Files.createDirectories(root.resolve("bin"));
    Files.createDirectories(root.resolve("proc"));
    Files.createDirectories(root.resolve("sys"));
    Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
    Files.writeString(root.resolve("init"), """
        #!/bin/busybox sh
        /bin/busybox mount -t proc proc /proc
        /bin/busybox mount -t sysfs sysfs /sys
        echo "L2 online=$(/bin/busybox cat /sys/devices/system/cpu/online) nproc=$(/bin/busybox nproc) uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)"
        /bin/busybox dmesg | /bin/busybox grep -i -E 'smp|cpu1|apic' | /bin/busybox head -n 12
        /bin/busybox reboot -f
        """);
    root.resolve("init").toFile().setExecutable(true);
    Path cpio = work.resolve("l2.cpio");
    Process p = new ProcessBuilder("sh", "-c", "cd \"$0\" && find . | cpio -o -H newc -R 0:0 --quiet > \"$1\"",
        root.toString(), cpio.toString()).redirectErrorStream(true).start();
    String msg = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), msg);
    return cpio;
  }
}

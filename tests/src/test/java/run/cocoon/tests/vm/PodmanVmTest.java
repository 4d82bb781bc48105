package run.cocoon.tests.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import run.cocoon.testbox.NestedBox;
import run.cocoon.testbox.VmTestHost;

/**
 * podman driving cocoon-runtime in VM isolation, where VMs run: {@code run --rm ... echo hi}
 * with the isolation chosen by an annotation, then {@code run -d} with it chosen by a runtime
 * flag, {@code ps}, {@code kill}, {@code rm}. Podman's storage, runroot and the runtime's state
 * are under the box's /tmp (vfs storage: the box's kernel has no overlay module loaded).
 */
@Tag("slow")
@Tag("guest-jvm")
@Timeout(value = 45, unit = TimeUnit.MINUTES)
class PodmanVmTest {
  /** Two VMs, each booting a guest JVM under emulation, and a dozen runtime JVM starts. */
  private static final Duration TIMEOUT = Duration.ofMinutes(40);
  private static final String MARK = "PODMAN-VM";

  @Test
  void runPsKillRmInVms() throws IOException {
    String why = GuestRun.unavailable();
    assumeTrue(why == null, why);
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/podman")), "podman is not installed"
        + " (scripts/setup-host installs it)");
    Path image = AgentBootVmTest.guestImage();
    String runtime = GuestRun.quote(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-Dcocoon.kernel=" + GuestKernel.directory().resolve("vmlinux"),
        "-Dcocoon.guest-image=" + image,
        "-cp", System.getProperty("java.class.path"),
        "run.cocoon.shim.runtime.RuntimeMain", "--root", "/tmp/podman-vm/runtime-root"));
    String script = String.join("\n",
        "W=/tmp/podman-vm; rm -rf $W; mkdir -p $W/rootfs/bin",
        "cp /bin/busybox $W/rootfs/bin/",
        "for a in sh echo sleep cat true; do ln -s busybox $W/rootfs/bin/$a; done",
        "tar -C $W/rootfs -cf $W/busybox.tar .",
        "printf '%s\\n' '#!/bin/sh' " + GuestRun.quote(List.of("exec " + runtime + " \"$@\""))
            + " > $W/runtime; chmod +x $W/runtime",
        "P=\"podman --root $W/storage --runroot $W/runroot --storage-driver vfs"
            + " --cgroup-manager=cgroupfs --events-backend=none --runtime $W/runtime\"",
        "L='--network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024'",
        "$P import $W/busybox.tar localhost/busybox-vm:1 >/dev/null; echo " + MARK + " import=$?",
        "out=$($P run --rm $L --annotation run.cocoon.isolation=vm localhost/busybox-vm:1 echo hi)",
        "echo " + MARK + " run-rm=$? run-out=$out",
        "echo " + MARK + " after-rm=$($P ps -aq | wc -l)",
        "$P run -d --name s $L --runtime-flag isolation=vm localhost/busybox-vm:1 sleep 1000 >/dev/null",
        "echo " + MARK + " run-d=$?",
        "echo " + MARK + " ps=$($P ps --format '{{.Names}}_{{.Status}}' | cut -d' ' -f1)",
        "$P kill s >/dev/null; echo " + MARK + " kill=$?",
        "$P wait s >/dev/null",
        "echo " + MARK + " exited=$($P ps -a --format '{{.Names}}_{{.Status}}' | cut -d' ' -f1-2)",
        "$P rm s >/dev/null; echo " + MARK + " rm=$?",
        "echo " + MARK + " left=$($P ps -aq | wc -l)/$(ls $W/runtime-root | wc -l)",
        "$P rmi -a -f >/dev/null 2>&1; rm -rf $W",
        "echo " + MARK + " done=yes");
    NestedBox.Result r = VmTestHost.get().runScenario(List.of("bash", "-c", script), TIMEOUT);
    System.out.println(r.describe());
    String out = r.stdout();
    assertEquals("yes", value(out, "done"), r.describe());
    assertEquals("0", value(out, "import"));
    assertEquals("0 run-out=hi", value(out, "run-rm"), r.describe());
    assertEquals("0", value(out, "after-rm"));
    assertEquals("0", value(out, "run-d"), r.describe());
    assertTrue(value(out, "ps").startsWith("s_Up"), value(out, "ps"));
    assertEquals("0", value(out, "kill"));
    assertEquals("s_Exited (137)", value(out, "exited"));
    assertEquals("0", value(out, "rm"));
    assertEquals("0/0", value(out, "left"));
  }

  private static String value(String stdout, String key) {
    return GuestRun.value(stdout, MARK, key);
  }
}

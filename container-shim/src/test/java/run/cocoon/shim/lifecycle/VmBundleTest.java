package run.cocoon.shim.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.image.DiskBuilder;
import run.cocoon.shim.image.ImageException;

/**
 * What VM isolation makes of a bundle's bind mounts (podman's set: files, /dev/shm) and how the
 * files land in the rootfs disk; no VM needed.
 */
class VmBundleTest {
  @TempDir Path dir;

  private OciSpec spec(List<OciSpec.Mount> mounts) {
    return new OciSpec("1.0.2", null, new OciSpec.Root("rootfs", false), "h", mounts, null, Map.of());
  }

  @Test
  void podmansBindsBecomeFilesAndATmpfs() throws IOException {
    Path hosts = Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n");
    Path env = Files.writeString(dir.resolve(".containerenv"), "engine=\"podman\"\n");
    Files.createDirectories(dir.resolve("shm"));
    OciSpec.Mount proc = new OciSpec.Mount("/proc", "proc", "proc", List.of());
    VmBundle b = VmBundle.of(spec(List.of(proc,
        new OciSpec.Mount("/etc/hosts", "bind", hosts.toString(), List.of("bind", "rprivate")),
        new OciSpec.Mount("/dev/shm", "bind", dir.resolve("shm").toString(),
            List.of("bind", "rprivate", "nosuid", "noexec", "nodev")),
        new OciSpec.Mount("/run/.containerenv", "bind", env.toString(), List.of("rbind")))));
    assertEquals(Map.of("/etc/hosts", hosts, "/run/.containerenv", env), b.files());
    assertEquals(List.of(proc, new OciSpec.Mount("/dev/shm", "tmpfs", "shm",
        List.of("nosuid", "noexec", "nodev", "mode=1777"))), b.guestSpec().mounts());
  }

  @Test
  void aVolumeIsRefusedNotDropped() {
    LifecycleException e = assertThrows(LifecycleException.class, () -> VmBundle.of(spec(List.of(
        new OciSpec.Mount("/data", "bind", dir.toString(), List.of("rbind"))))));
    assertTrue(e.getMessage().contains("volumes need container isolation"), e.getMessage());
  }

  @Test
  void filesAreWrittenIntoTheDiskAndCheckedBack() throws Exception {
    Path root = Files.createDirectories(dir.resolve("rootfs/etc"));
    Files.writeString(root.resolve("hosts"), "old\n");
    Path disk = dir.resolve("disk.ext4");
    DiskBuilder.buildFromDirectory(dir.resolve("rootfs"), disk);
    Path hosts = Files.writeString(dir.resolve("h"), "127.0.0.1 new\n");
    Path env = Files.writeString(dir.resolve("e"), "engine=podman\n");
    DiskBuilder.addFiles(disk, Map.of("/etc/hosts", hosts, "/run/sub/.containerenv", env),
        Files.createDirectory(dir.resolve("work1")));
    assertEquals("127.0.0.1 new\n", debugfsCat(disk, "/etc/hosts"));
    assertEquals("engine=podman\n", debugfsCat(disk, "/run/sub/.containerenv"));

    for (String bad : List.of("/etc/../x", "/a b", "relative", "/", "/x\ny")) {
      assertThrows(ImageException.class, () -> DiskBuilder.addFiles(disk, Map.of(bad, hosts),
          Files.createTempDirectory(dir, "w")), bad);
    }
    // A directory in the way: the read-back check catches what debugfs only prints.
    assertThrows(ImageException.class, () -> DiskBuilder.addFiles(disk, Map.of("/etc", hosts),
        Files.createTempDirectory(dir, "w")));
  }

  private static String debugfsCat(Path disk, String path) throws Exception {
    Process p = new ProcessBuilder("debugfs", "-R", "cat " + path, disk.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }
}

package run.cocoon.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A busybox root filesystem and runc-like specs for the host tests. */
final class TestRootfs {
  static final Path BUSYBOX = Path.of("/bin/busybox");
  static final List<String> APPLETS = List.of("sh", "echo", "cat", "id", "hostname", "sleep",
      "tail", "grep", "mount", "ls", "touch", "wc", "seq", "true", "ps", "head", "stty", "cut");

  private TestRootfs() {}

  /** Builds {@code dir/rootfs} with busybox and applet symlinks; returns the bundle dir. */
  static Path build(Path dir) throws IOException {
    Path root = dir.resolve("rootfs");
    Files.createDirectories(root.resolve("bin"));
    Files.copy(BUSYBOX, root.resolve("bin/busybox"));
    for (String a : APPLETS) {
      Files.createSymbolicLink(root.resolve("bin").resolve(a), Path.of("busybox"));
    }
    for (String d : List.of("proc", "dev", "sys", "tmp", "etc", "ro", "secret")) {
      Files.createDirectories(root.resolve(d));
    }
    Files.writeString(root.resolve("secret/key"), "s3cret\n");
    Files.writeString(root.resolve("etc/hidden"), "hidden\n");
    Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
    return dir;
  }

  static String json(List<String> args, Map<String, String> extra) {
    StringBuilder a = new StringBuilder();
    for (String s : args) {
      a.append(a.isEmpty() ? "" : ",").append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
    String process = extra.getOrDefault("process", "");
    String linuxExtra = extra.getOrDefault("linux", "");
    String topExtra = extra.getOrDefault("top", "");
    return """
        {
          "ociVersion": "1.0.2",
          "process": {
            "args": [%s],
            "env": ["PATH=/bin", "TERM=xterm"],
            "cwd": "/",
            %s
            "terminal": false
          },
          "root": {"path": "rootfs", "readonly": false},
          "hostname": "box",
          %s
          "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
          ],
          "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/etc/hidden", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/secret"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/ro"]
            %s
          },
          "annotations": {"org.example.test": "yes"}
        }
        """.formatted(a, process, topExtra, linuxExtra);
  }

  static String json(String... args) {
    return json(List.of(args), Map.of());
  }

  static List<String> args(String... a) {
    return new ArrayList<>(List.of(a));
  }
}

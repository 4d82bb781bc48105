package run.cocoon.tests.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * vsock throughput side by side: our VMM (virtio-vsock, host end a Unix socket through the
 * hybrid vsock protocol) and QEMU's {@code -M microvm} with {@code vhost-vsock-device} (the
 * kernel's vhost, host end AF_VSOCK). Same kernel, same initramfs, whose {@code vsock-bench}
 * scenario runs {@code vsock-test listen 1234 2}; on the host {@code vsock-test} receives then
 * sends BYTES, SHA-256 checked, and reports MB/s. Rounds alternate the two VMMs.
 *
 * <p>Arguments: vmlinux, initramfs, vsock-test binary, bytes per direction, rounds.
 */
public final class VsockBench {
  private static final String CMDLINE =
      "console=ttyS0 reboot=k panic=-1 pci=off cocoon.test=vsock-bench";
  private static final long RUN_TIMEOUT_SECONDS = 900;
  private static final long QEMU_CID = 3;
  private static final Pattern RESULT = Pattern.compile(
      "vsock-test: (send|recv) bytes=\\d+ via=\\w+ .* seconds=([\\d.]+) MBps=([\\d.]+) (match|MISMATCH)");

  private record Rates(double guestToHost, double hostToGuest) {}

  private VsockBench() {}

  public static void main(String[] args) throws Exception {
    Path kernel = Path.of(args[0]);
    Path initrd = Path.of(args[1]);
    String tool = args[2];
    long bytes = Long.parseLong(args[3]);
    int rounds = Integer.parseInt(args[4]);
    boolean vhost = Files.exists(Path.of("/dev/vhost-vsock"));
    System.out.printf("vsock throughput, %d bytes per direction, %d rounds; kernel %s%n", bytes,
        rounds, kernel);
    if (!vhost) {
      System.out.println("no /dev/vhost-vsock (modprobe vhost_vsock): QEMU baseline skipped");
    }
    System.out.printf("%-6s %16s %16s %8s %16s %16s %8s%n", "round", "cocoon g->h MB/s",
        "qemu g->h MB/s", "ratio", "cocoon h->g MB/s", "qemu h->g MB/s", "ratio");
    List<Double> up = new ArrayList<>();
    List<Double> down = new ArrayList<>();
    for (int i = 1; i <= rounds; i++) {
      Rates ours = ours(kernel, initrd, tool, bytes);
      Rates qemu = vhost ? qemu(kernel, initrd, tool, bytes) : new Rates(Double.NaN, Double.NaN);
      up.add(ours.guestToHost() / qemu.guestToHost());
      down.add(ours.hostToGuest() / qemu.hostToGuest());
      System.out.printf(Locale.ROOT, "%-6d %16.1f %16.1f %8.2f %16.1f %16.1f %8.2f%n", i,
          ours.guestToHost(), qemu.guestToHost(), up.getLast(), ours.hostToGuest(),
          qemu.hostToGuest(), down.getLast());
    }
    System.out.printf(Locale.ROOT, "median cocoon/qemu: guest->host %.2f, host->guest %.2f%n",
        median(up), median(down));
  }

  private static Rates ours(Path kernel, Path initrd, String tool, long bytes) throws Exception {
    Path dir = Files.createTempDirectory("cocoon-vsock-bench");
    String uds = dir.resolve("v.sock").toString();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process vm = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), "run.cocoon.shim.cli.Main", "vm", "boot",
        "--kernel", kernel.toString(), "--initrd", initrd.toString(), "--cmdline", CMDLINE,
        "--cpus", "1", "--memory", "512M", "--no-stdin", "--vsock", "3," + uds)
        .redirectErrorStream(true).redirectOutput(dir.resolve("vm.log").toFile()).start();
    try {
      return new Rates(client(tool, "uds-connect", uds, "recv", bytes),
          client(tool, "uds-connect", uds, "send", bytes));
    } finally {
      finish(vm, dir.resolve("vm.log"));
    }
  }

  private static Rates qemu(Path kernel, Path initrd, String tool, long bytes) throws Exception {
    Path log = Files.createTempFile("qemu-vsock-bench", ".log");
    Process vm = new ProcessBuilder("qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu",
        "host", "-smp", "1", "-m", "512M", "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", "stdio", "-no-reboot", "-kernel", kernel.toString(), "-initrd",
        initrd.toString(), "-append", CMDLINE, "-device",
        "vhost-vsock-device,guest-cid=" + QEMU_CID)
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      String cid = Long.toString(QEMU_CID);
      return new Rates(client(tool, "connect", cid, "recv", bytes),
          client(tool, "connect", cid, "send", bytes));
    } finally {
      // microvm only halts on power-off: stop it once the transfers are done.
      vm.destroy();
      finish(vm, log);
    }
  }

  /** Runs one vsock-test client; returns its MB/s, NaN when it failed. */
  private static double client(String tool, String how, String target, String command,
      long bytes) throws Exception {
    List<String> cmd = List.of(tool, how, target, "1234", command, Long.toString(bytes));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(RUN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    Matcher m = RESULT.matcher(out);
    if (!m.find() || !m.group(4).equals("match")) {
      System.out.println("  " + String.join(" ", cmd) + ": " + out.strip());
      return Double.NaN;
    }
    return Double.parseDouble(m.group(3));
  }

  private static void finish(Process vm, Path log) throws Exception {
    if (!vm.waitFor(60, TimeUnit.SECONDS)) {
      vm.destroyForcibly();
      vm.waitFor();
      System.out.println("  VMM did not end; log " + log);
    }
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().toList();
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}

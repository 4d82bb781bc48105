package run.cocoon.tests.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Boot-to-init side by side: our VMM ({@code cocoon vm boot}) and QEMU's {@code -M microvm} boot
 * the same kernel and initramfs on the same KVM, alternating, several rounds. For each run:
 * wall time from process start to the init's marker line, and the process's peak RSS (sampled).
 * Prints a table and the median ratios. Usage:
 * {@code BootBench KERNEL INITRD ROUNDS}
 */
public final class BootBench {
  private static final String MARKER = "COCOON-TEST-MARKER";
  private static final String CMDLINE = "console=ttyS0 reboot=k panic=-1 pci=off cocoon.test=poweroff";
  private static final long RUN_TIMEOUT_MILLIS = 90_000;
  /** QEMU's microvm may only halt on power-off: stop it this long after the marker. */
  private static final long AFTER_MARKER_MILLIS = 3_000;

  private record Run(double markerMillis, double peakRssMib, String jvmTiming) {}

  private BootBench() {}

  public static void main(String[] args) throws Exception {
    Path kernel = Path.of(args[0]);
    Path initrd = Path.of(args[1]);
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> ours = List.of(java, "--enable-native-access=ALL-UNNAMED",
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-Dcocoon.timing=true",
        "-cp", System.getProperty("java.class.path"), "run.cocoon.shim.cli.Main", "vm", "boot",
        "--kernel", kernel.toString(), "--initrd", initrd.toString(), "--cmdline", CMDLINE,
        "--cpus", "1", "--memory", "256M", "--no-stdin");
    List<String> qemu = List.of("qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host",
        "-smp", "1", "-m", "256M", "-nodefaults", "-no-user-config", "-display", "none",
        "-serial", "stdio", "-no-reboot", "-kernel", kernel.toString(), "-initrd", initrd.toString(),
        "-append", CMDLINE);
    System.out.printf("boot to init marker, %d rounds, alternating; kernel %s%n", rounds, kernel);
    System.out.printf("%-6s %14s %14s %10s %14s %14s %10s  %s%n", "round", "cocoon ms",
        "qemu ms", "ratio", "cocoon MiB", "qemu MiB", "ratio", "cocoon JVM timing");
    List<Double> timeRatios = new ArrayList<>();
    List<Double> rssRatios = new ArrayList<>();
    for (int i = 1; i <= rounds; i++) {
      Run a = measure(ours);
      Run b = measure(qemu);
      timeRatios.add(a.markerMillis() / b.markerMillis());
      rssRatios.add(a.peakRssMib() / b.peakRssMib());
      System.out.printf(Locale.ROOT, "%-6d %14.0f %14.0f %10.2f %14.1f %14.1f %10.2f  %s%n", i,
          a.markerMillis(), b.markerMillis(), a.markerMillis() / b.markerMillis(), a.peakRssMib(),
          b.peakRssMib(), a.peakRssMib() / b.peakRssMib(), a.jvmTiming());
    }
    System.out.printf(Locale.ROOT, "median cocoon/qemu: boot-to-init %.2f, peak RSS %.2f%n",
        median(timeRatios), median(rssRatios));
  }

  private static double median(List<Double> xs) {
    List<Double> s = xs.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  private static Run measure(List<String> command) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(
        new java.io.File("/dev/null"))).start();
    // A guest that stalls without output would block the reader forever: kill it at the limit
    // (the round then reports NaN).
    Thread.ofPlatform().daemon().start(() -> {
      try {
        if (!p.waitFor(RUN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
      }
    });
    long[] peakKib = {0};
    Thread sampler = Thread.ofPlatform().daemon().start(() -> {
      Path status = Path.of("/proc", Long.toString(p.pid()), "status");
      while (p.isAlive()) {
        try {
          for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
              long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
              synchronized (peakKib) {
                peakKib[0] = Math.max(peakKib[0], kib);
              }
            }
          }
          Thread.sleep(5);
        } catch (IOException | InterruptedException | NumberFormatException e) {
          return;
        }
      }
    });
    StringBuilder timing = new StringBuilder();
    Thread errors = Thread.ofPlatform().daemon().start(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.contains("timing")) {
            synchronized (timing) {
              timing.append(line.replace("cocoon: timing ", ""));
            }
          }
        }
      } catch (IOException e) {
        // process ended
      }
    });
    double markerMillis = Double.NaN;
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8));
    try {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.contains(MARKER)) { // kernel messages may share the line
          markerMillis = (System.nanoTime() - t0) / 1e6;
          break;
        }
        if ((System.nanoTime() - t0) / 1_000_000 > RUN_TIMEOUT_MILLIS) {
          break;
        }
      }
    } catch (IOException e) {
      // stream closed by kill
    }
    // Keep draining so the guest never blocks on a full pipe, without waiting for EOF here.
    Thread.ofPlatform().daemon().start(() -> {
      try (r) {
        r.transferTo(java.io.Writer.nullWriter());
      } catch (IOException e) {
        // process ended
      }
    });
    if (!p.waitFor(AFTER_MARKER_MILLIS, TimeUnit.MILLISECONDS)) {
      p.destroyForcibly().waitFor();
    }
    sampler.join(1000);
    errors.join(1000);
    synchronized (peakKib) {
      synchronized (timing) {
        return new Run(markerMillis, peakKib[0] / 1024.0, timing.toString());
      }
    }
  }
}

package run.cocoon.shim.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.SyscallException;
import run.cocoon.vmm.MicroVm;
import run.cocoon.vmm.VmConfig;
import run.cocoon.vmm.VirtioSpec;
import run.cocoon.vmm.VmEnd;
import run.cocoon.vmm.boot.BootException;

/** {@code cocoon vm ...}: the virtual machine monitor on its own. */
@Command(name = "vm", mixinStandardHelpOptions = true,
    description = "Run a Linux kernel in a microVM.",
    subcommands = {VmCommands.Boot.class})
final class VmCommands implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  /** Largest config file accepted. */
  static final int CONFIG_MAX_BYTES = 64 * 1024;

  /** The JSON config file: the same settings as the flags. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record ConfigFile(
      @JsonProperty(value = "kernel", required = true) String kernel,
      @JsonProperty("initrd") String initrd,
      @JsonProperty("cmdline") String cmdline,
      @JsonProperty("cpus") Integer cpus,
      @JsonProperty("memory") String memory,
      @JsonProperty("disks") List<DeviceOptions.DiskJson> disks,
      @JsonProperty("net") List<DeviceOptions.NetJson> net,
      @JsonProperty("vsock") DeviceOptions.VsockJson vsock,
      @JsonProperty("rng") Boolean rng) {}

  @Command(name = "boot", mixinStandardHelpOptions = true,
      description = {"Boot a kernel with an optional initramfs; the console is attached to this"
          + " terminal (COM1: guest output to stdout, stdin to the guest).",
          "",
          "Exit status: " + VmEnd.EXIT_POWERED_OFF + " powered off, " + VmEnd.EXIT_REBOOTED
              + " rebooted, " + VmEnd.EXIT_CRASHED + " crashed (panic, triple fault, KVM error), "
              + VmEnd.EXIT_STOPPED + " stopped by the host, " + ExitCodes.BAD_INPUT
              + " bad kernel/initrd/config, " + ExitCodes.UNAVAILABLE + " no usable /dev/kvm."})
  static final class Boot implements Callable<Integer> {
    @Option(names = "--kernel", description = "vmlinux (PVH or 64-bit entry) or bzImage.")
    Path kernel;

    @Option(names = "--initrd", description = "initramfs (cpio, optionally compressed).")
    Path initrd;

    @Option(names = "--cmdline", description = "Kernel command line (default: ${DEFAULT-VALUE}).",
        defaultValue = VmConfig.DEFAULT_CMDLINE)
    String cmdline;

    @Option(names = "--cpus", description = "vCPUs (default: ${DEFAULT-VALUE}).", defaultValue = "1")
    int cpus;

    @Option(names = "--memory", description = "Guest RAM, e.g. 256M or 1G (default: ${DEFAULT-VALUE}).",
        defaultValue = "256M")
    String memory;

    @Option(names = "--disk", paramLabel = "PATH[,ro][,serial=ID]",
        description = "A raw disk image as virtio-blk (repeatable; the first is /dev/vda).")
    List<String> disks = new ArrayList<>();

    @Option(names = "--net", paramLabel = "TAP[,mac=MAC]",
        description = "virtio-net on an existing host TAP interface (repeatable).")
    List<String> nets = new ArrayList<>();

    @Option(names = "--vsock", paramLabel = "CID,SOCKET",
        description = "virtio-vsock with guest CID; host side is the Unix socket SOCKET"
            + " (connect and send \"CONNECT <port>\\n\"; guest connections go to SOCKET_<port>).")
    String vsock;

    @Option(names = "--rng", description = "virtio-rng fed from the host's getrandom().")
    boolean rng;

    @Option(names = "--config", description = "JSON file with kernel, initrd, cmdline, cpus, memory,"
        + " disks, net, vsock, rng; flags given on the command line win.")
    Path config;

    @Option(names = "--no-stdin", description = "Do not forward stdin to the guest console.")
    boolean noStdin;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      long mainNanos = System.nanoTime();
      VmConfig vmConfig = resolve();
      MicroVm vm;
      try {
        // The raw stdout, not System.out: a PrintStream hides a closed pipe from the console.
        vm = MicroVm.create(vmConfig, new FileOutputStream(FileDescriptor.out),
            noStdin ? null : System.in);
      } catch (BootException e) {
        throw new CliException(ExitCodes.BAD_INPUT, e.getMessage(), e);
      } catch (IOException e) {
        throw new CliException(ExitCodes.BAD_INPUT, "device: " + e.getMessage(), e);
      } catch (SyscallException e) {
        // The kernel and initrd were fine (they are checked first): KVM itself failed.
        throw new CliException(ExitCodes.UNAVAILABLE,
            Kvm.isAvailable() ? e.getMessage() : Kvm.unavailabilityCause(), e);
      }
      Thread hook = new Thread(() -> {
        vm.stop("signal");
        try {
          vm.close();
        } catch (RuntimeException e) {
          // the process is ending; nothing more to do
        }
      }, "vm-stop-on-signal");
      Runtime.getRuntime().addShutdownHook(hook);
      long createdNanos = System.nanoTime();
      VmEnd end;
      try {
        end = vm.run();
      } finally {
        vm.close();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // a signal arrived; the hook is running
        }
      }
      System.out.flush();
      if (Boolean.getBoolean("cocoon.timing")) {
        System.err.println(Timing.line(mainNanos, createdNanos));
      }
      System.err.println("cocoon: VM " + end.describe());
      if (vm.consoleBytesDropped() > 0) {
        System.err.println("cocoon: " + vm.consoleBytesDropped()
            + " console bytes dropped (the output was not read fast enough)");
      }
      return end.exitCode();
    }

    private VmConfig resolve() throws IOException {
      ConfigFile file = null;
      if (config != null) {
        if (Files.size(config) > CONFIG_MAX_BYTES) {
          throw new CliException(ExitCodes.BAD_INPUT, config + " is larger than "
              + CONFIG_MAX_BYTES + " bytes");
        }
        try {
          file = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
              .readValue(Files.readString(config), ConfigFile.class);
        } catch (IOException e) {
          throw new CliException(ExitCodes.BAD_INPUT, "bad VM config " + config + ": "
              + e.getMessage().lines().findFirst().orElse(""));
        }
      }
      var parsed = spec.commandLine().getParseResult();
      Path k = kernel != null ? kernel : file != null ? Path.of(file.kernel()) : null;
      if (k == null) {
        throw new CliException(ExitCodes.USAGE, "--kernel (or a --config file naming one) is required");
      }
      Path i = initrd != null ? initrd
          : file != null && file.initrd() != null ? Path.of(file.initrd()) : null;
      String c = !parsed.hasMatchedOption("--cmdline") && file != null && file.cmdline() != null
          ? file.cmdline() : cmdline;
      int n = !parsed.hasMatchedOption("--cpus") && file != null && file.cpus() != null
          ? file.cpus() : cpus;
      String m = !parsed.hasMatchedOption("--memory") && file != null && file.memory() != null
          ? file.memory() : memory;
      try {
        List<VirtioSpec.Disk> d = !disks.isEmpty() || file == null || file.disks() == null
            ? disks.stream().map(DeviceOptions::disk).toList()
            : file.disks().stream().map(DeviceOptions.DiskJson::spec).toList();
        List<VirtioSpec.Net> t = !nets.isEmpty() || file == null || file.net() == null
            ? nets.stream().map(DeviceOptions::net).toList()
            : file.net().stream().map(DeviceOptions.NetJson::spec).toList();
        VirtioSpec.Vsock v = vsock != null ? DeviceOptions.vsock(vsock)
            : file != null && file.vsock() != null ? file.vsock().spec() : null;
        boolean r = rng || file != null && Boolean.TRUE.equals(file.rng());
        return new VmConfig(k, Optional.ofNullable(i), c, n, ByteSizes.parse(m),
            DeviceOptions.ordered(d, t, v, r));
      } catch (IllegalArgumentException e) {
        throw new CliException(ExitCodes.BAD_INPUT, e.getMessage());
      }
    }
  }
}

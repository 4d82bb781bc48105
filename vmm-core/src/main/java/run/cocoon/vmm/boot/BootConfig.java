package run.cocoon.vmm.boot;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What to boot and on what machine.
 *
 * @param kernel a vmlinux (ELF) or bzImage
 * @param initrd an initramfs, if any
 * @param cmdline the kernel command line (printable ASCII)
 * @param vcpus number of vCPUs the firmware tables describe
 * @param ramBytes guest RAM, as given to {@code Layout.ramRanges}
 * @param entry which boot protocol to use
 * @param mmioDevices virtio-mmio devices to announce in the DSDT
 * @param pvpanicPort I/O port of a pvpanic device to announce in the DSDT, if any
 */
public record BootConfig(Path kernel, Optional<Path> initrd, String cmdline, int vcpus,
    long ramBytes, Entry entry, List<MmioDevice> mmioDevices, OptionalInt pvpanicPort) {

  /** Which entry point to use. */
  public enum Entry {
    /** PVH when the ELF has the note, else the 64-bit protocol (always for a bzImage). */
    AUTO,
    /** PVH, failing if the image has no PVH note. */
    PVH,
    /** The Linux 64-bit boot protocol. */
    LINUX_64
  }

  public BootConfig {
    Objects.requireNonNull(kernel, "kernel");
    Objects.requireNonNull(initrd, "initrd");
    Objects.requireNonNull(cmdline, "cmdline");
    Objects.requireNonNull(entry, "entry");
    mmioDevices = List.copyOf(mmioDevices);
    Objects.requireNonNull(pvpanicPort, "pvpanicPort");
  }

  /** A config with automatic entry selection and no devices in the DSDT. */
  public static BootConfig of(Path kernel, Optional<Path> initrd, String cmdline, int vcpus,
      long ramBytes) {
    return new BootConfig(kernel, initrd, cmdline, vcpus, ramBytes, Entry.AUTO, List.of(),
        OptionalInt.empty());
  }

  public BootConfig withEntry(Entry newEntry) {
    return new BootConfig(kernel, initrd, cmdline, vcpus, ramBytes, newEntry, mmioDevices,
        pvpanicPort);
  }

  public BootConfig withDevices(List<MmioDevice> devices, OptionalInt pvpanic) {
    return new BootConfig(kernel, initrd, cmdline, vcpus, ramBytes, entry, devices, pvpanic);
  }
}

package run.cocoon.vmm;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import run.cocoon.vmm.boot.MmioDevice;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.virtio.MmioTransport;

/**
 * How the guest learns about its virtio-mmio devices. With ACPI (our kernel's default) they are
 * DSDT entries (LNRO0005): under hardware-reduced ACPI Linux numbers interrupts dynamically, so a
 * command-line IRQ would name the wrong line. With {@code acpi=off} the kernel boots from the MP
 * table, IRQ numbers are IOAPIC pins, and we add {@code virtio_mmio.device=4K@0x...:N} to the
 * command line instead. Never both ways: the kernel would probe each device twice.
 */
record VirtioAnnouncement(String cmdline, List<MmioDevice> dsdtDevices) {
  private static final Pattern ACPI_OFF = Pattern.compile("(^|\\s)acpi=off(\\s|$)");

  static VirtioAnnouncement of(String cmdline, int devices) {
    List<MmioDevice> dsdt = new ArrayList<>();
    StringBuilder line = new StringBuilder(cmdline);
    boolean onCommandLine = ACPI_OFF.matcher(cmdline).find();
    for (int i = 0; i < devices; i++) {
      long base = Layout.virtioBase(i);
      int gsi = Layout.virtioGsi(i);
      if (onCommandLine) {
        line.append(line.isEmpty() ? "" : " ").append("virtio_mmio.device=")
            .append(MmioTransport.WINDOW_BYTES / 1024).append("K@0x")
            .append(Long.toHexString(base)).append(':').append(gsi);
      } else {
        dsdt.add(new MmioDevice(base, MmioTransport.WINDOW_BYTES, gsi));
      }
    }
    return new VirtioAnnouncement(line.toString(), List.copyOf(dsdt));
  }
}

package run.cocoon.vmm.boot;

import java.util.List;
import java.util.Optional;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.memory.GuestMemory;

/**
 * The whole boot preparation in one place: read and check the kernel, initrd, command line and
 * machine shape; then write the kernel, initrd, command line, boot tables and firmware tables
 * into guest memory; and return the state vCPU 0 starts from.
 *
 * <p>Every check happens before the first write, so a {@link BootException} leaves guest memory
 * untouched (a file that shrinks while being copied is the one exception, and is still reported
 * before any vCPU runs).
 *
 * @param entry the initial state of vCPU 0
 * @param protocol the boot protocol chosen
 * @param kernel the parsed kernel
 * @param initrd where the initrd went, if any
 * @param acpi where the ACPI tables went
 * @param summary a few lines for the log
 */
public record BootPlan(EntryState entry, BootProtocol protocol, KernelImage kernel,
    Optional<InitrdPlacement> initrd, AcpiTables.Placement acpi, String summary) {

  /** Prepares {@code memory} (RAM for {@code config.ramBytes()}) to boot {@code config}. */
  public static BootPlan prepare(GuestMemory memory, BootConfig config) throws BootException {
    // 1. Machine shape.
    long ram = config.ramBytes();
    if (memory.totalBytes() != ram) {
      throw new BootException.InvalidMachine("guest memory has " + memory.totalBytes()
          + " bytes but the config says " + ram);
    }
    long lowRamEnd = Layout.lowRamEnd(ram);
    MpTable.check(config.vcpus());
    List<MmioDevice> devices = AcpiTables.checkDevices(config.mmioDevices());
    AcpiTables.Built acpi = AcpiTables.build(config.vcpus(), devices, config.pvpanicPort());

    // 2. Kernel and entry protocol.
    byte[] image = BootFiles.read(config.kernel(), "kernel", BootLimits.KERNEL_MAX_BYTES);
    KernelImage kernel = KernelImage.parse(image, lowRamEnd);
    BootProtocol protocol = chooseProtocol(kernel, config.entry());
    long entryAddress = protocol == BootProtocol.PVH
        ? kernel.pvhEntry().getAsLong() : kernel.entry64().getAsLong();

    // 3. Command line and initrd.
    CommandLine cmdline = CommandLine.of(config.cmdline(), kernel.cmdlineMaxChars());
    Optional<InitrdPlacement> initrd = Optional.empty();
    if (config.initrd().isPresent()) {
      long size = BootFiles.size(config.initrd().get(), "initrd", BootLimits.INITRD_MAX_BYTES);
      initrd = Optional.of(InitrdPlacement.place(size, lowRamEnd,
          protocol == BootProtocol.PVH ? Layout.FOUR_GIB - 1 : kernel.initrdAddressMax(),
          kernel.footprintEnd()));
    }

    // 4. Writes: nothing above could fail after this point except the initrd copy.
    List<MemoryMap.Entry> map = MemoryMap.of(ram);
    kernel.writeTo(memory);
    if (initrd.isPresent()) {
      BootFiles.copyInto(config.initrd().get(), "initrd", initrd.get().size(), memory,
          initrd.get().address());
    }
    cmdline.writeTo(memory);
    Gdt.write(memory);
    AcpiTables.Placement placement = AcpiTables.write(memory, acpi);
    MpTable.write(memory, config.vcpus());
    EntryState state;
    if (protocol == BootProtocol.PVH) {
      PvhStartInfo.write(memory, initrd, map, placement.rsdp());
      state = EntryState.pvh(entryAddress);
    } else {
      Optional<byte[]> header = kernel instanceof BzImageKernel bz
          ? Optional.of(bz.setupHeaderBytes()) : Optional.empty();
      ZeroPage.write(memory, header, initrd, map, placement.rsdp());
      PageTables.write(memory);
      state = EntryState.linux64(entryAddress);
    }

    String summary = "kernel: " + kernel.describe() + "\n"
        + "entry: " + protocol + " at " + Bytes.hex(entryAddress) + "\n"
        + "initrd: " + initrd.map(i -> i.size() + " bytes at " + Bytes.hex(i.address()))
            .orElse("none") + "\n"
        + "vcpus: " + config.vcpus() + ", RAM " + (ram >> 20) + " MiB, ACPI RSDP at "
        + Bytes.hex(placement.rsdp()) + ", MP table at " + Bytes.hex(Layout.EBDA_ADDRESS);
    return new BootPlan(state, protocol, kernel, initrd, placement, summary);
  }

  static BootProtocol chooseProtocol(KernelImage kernel, BootConfig.Entry wanted)
      throws BootException {
    return switch (wanted) {
      case PVH -> {
        if (kernel.pvhEntry().isEmpty()) {
          throw new BootException.NoPvhEntry("PVH boot was requested but the kernel has no"
              + " XEN_ELFNOTE_PHYS32_ENTRY note; build it with CONFIG_PVH=y and pass the"
              + " vmlinux, not a bzImage");
        }
        yield BootProtocol.PVH;
      }
      case LINUX_64 -> {
        if (kernel.entry64().isEmpty()) {
          throw new BootException.UnsupportedKernel("the ELF entry point lies outside its"
              + " loaded segments, so it has no usable 64-bit entry");
        }
        yield BootProtocol.LINUX_64;
      }
      case AUTO -> {
        if (kernel.pvhEntry().isPresent()) {
          yield BootProtocol.PVH;
        }
        if (kernel.entry64().isEmpty()) {
          throw new BootException.UnsupportedKernel("the kernel has neither a PVH note nor a"
              + " 64-bit entry inside its loaded segments");
        }
        yield BootProtocol.LINUX_64;
      }
    };
  }
}

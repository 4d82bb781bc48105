package run.cocoon.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import run.cocoon.kvm.CpuidEntry;
import run.cocoon.kvm.EventFd;
import run.cocoon.kvm.Kvm;
import run.cocoon.kvm.MsrEntry;
import run.cocoon.kvm.VcpuFd;
import run.cocoon.kvm.VmFd;
import run.cocoon.vmm.boot.BootConfig;
import run.cocoon.vmm.boot.BootException;
import run.cocoon.vmm.boot.BootPlan;
import run.cocoon.vmm.cpu.VcpuSetup;
import run.cocoon.vmm.devices.IoBus;
import run.cocoon.vmm.devices.MmioBus;
import run.cocoon.vmm.devices.legacy.AcpiPowerPorts;
import run.cocoon.vmm.devices.legacy.ConsoleInput;
import run.cocoon.vmm.devices.legacy.ConsoleOutput;
import run.cocoon.vmm.devices.legacy.I8042;
import run.cocoon.vmm.devices.legacy.PlatformEvents;
import run.cocoon.vmm.devices.legacy.PvPanic;
import run.cocoon.vmm.devices.legacy.Serial8250;
import run.cocoon.vmm.layout.Layout;
import run.cocoon.vmm.layout.Ports;
import run.cocoon.vmm.memory.MmapGuestMemory;
import run.cocoon.vmm.virtio.VirtioDevice;
import run.cocoon.vmm.virtio.VirtioDevices;

/**
 * A running microVM, built in one place: guest memory and the kernel first (so a malformed
 * kernel fails before KVM is touched), then the VM with its in-kernel irqchip and PIT, the vCPUs,
 * the legacy devices and the virtio devices. {@link #run()} starts one platform thread per vCPU and returns how the
 * VM ended; {@link #close()} releases everything.
 */
public final class MicroVm implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(MicroVm.class.getName());
  /** How long vCPU threads get to leave KVM_RUN after the VM ended. */
  static final long VCPU_JOIN_MILLIS = 5_000;

  private final MmapGuestMemory memory;
  private final Kvm kvm;
  private final VmFd vm;
  private final List<VcpuFd> vcpus = new ArrayList<>();
  private final List<VcpuLoop> loops = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final VmControl control;
  private final IoBus io = new IoBus();
  private final MmioBus mmio = new MmioBus();
  private final EventFd serialIrq;
  private final ConsoleOutput consoleOut;
  private final ConsoleInput consoleIn;
  private final Serial8250 serial;
  private final BootPlan boot;
  private final List<VirtioSlot> virtio = new ArrayList<>();
  private volatile boolean closed;

  private MicroVm(VmConfig config, OutputStream console, InputStream input)
      throws BootException, IOException {
    control = new VmControl(c -> kickAll());
    memory = MmapGuestMemory.allocate(Layout.ramRanges(config.memoryBytes()));
    Kvm openedKvm = null;
    VmFd openedVm = null;
    EventFd irq = null;
    ConsoleOutput out = null;
    Serial8250 uart;
    List<VirtioDevice> devices = new ArrayList<>();
    try {
      VirtioAnnouncement announce = VirtioAnnouncement.of(config.cmdline(), config.devices().size());
      boot = BootPlan.prepare(memory, BootConfig.of(config.kernel(), config.initrd(),
              announce.cmdline(), config.vcpus(), config.memoryBytes())
          .withDevices(announce.dsdtDevices(), OptionalInt.of(Ports.PVPANIC)));
      for (int i = 0; i < config.devices().size(); i++) {
        VirtioSpec spec = config.devices().get(i);
        devices.add(VirtioDevices.open(spec, VirtioDevices.name(spec, i)));
      }
      openedKvm = Kvm.open();
      openedVm = openedKvm.createVm();
      openedVm.setTssAddress(Layout.TSS_ADDRESS);
      openedVm.setIdentityMapAddress(Layout.IDENTITY_MAP_ADDRESS);
      openedVm.createIrqchip();
      openedVm.createPit2(VmFd.PIT_SPEAKER_DUMMY);
      memory.registerWith(openedVm);

      irq = EventFd.create();
      openedVm.registerIrqfd(irq, Ports.COM1_IRQ);
      out = new ConsoleOutput(console);
      EventFd serialLine = irq;
      uart = new Serial8250(out, () -> serialLine.write(1));
      PlatformEvents events = platformEvents();
      io.register(Ports.COM1_BASE, Serial8250.PORT_COUNT, uart);
      io.register(Ports.I8042_DATA, I8042.PORT_COUNT, new I8042(events));
      io.register(Ports.ACPI_SLEEP_CONTROL, AcpiPowerPorts.PORT_COUNT, new AcpiPowerPorts(events));
      io.register(Ports.PVPANIC, PvPanic.PORT_COUNT, new PvPanic(events));
      while (!devices.isEmpty()) {
        // The slot owns the device from here on, also when wiring it fails.
        VirtioDevice device = devices.removeFirst();
        virtio.add(new VirtioSlot(device, virtio.size(), openedVm, memory, mmio));
      }

      List<CpuidEntry> cpuid = openedKvm.supportedCpuid();
      for (int id = 0; id < config.vcpus(); id++) {
        VcpuFd vcpu = openedVm.createVcpu(id);
        vcpus.add(vcpu);
        List<MsrEntry> refused = VcpuSetup.configure(vcpu, cpuid, config.vcpus());
        if (!refused.isEmpty()) {
          LOG.log(Level.DEBUG, "vCPU {0}: KVM refused {1} boot MSRs", id, refused.size());
        }
        loops.add(new VcpuLoop(new Vcpu.Kvm(vcpu), control, io, mmio));
      }
      // Only the bootstrap processor starts at the kernel entry; the others wait for the
      // INIT/SIPI the guest sends them through the in-kernel local APICs.
      VcpuFd bsp = vcpus.get(0);
      bsp.setSregs(boot.entry().applyTo(bsp.getSregs()));
      bsp.setRegs(boot.entry().regs());
    } catch (RuntimeException | BootException | IOException e) {
      virtio.reversed().forEach(VirtioSlot::close);
      for (VirtioDevice d : devices) {
        if (d instanceof AutoCloseable c) {
          closeQuietly(c);
        }
      }
      for (VcpuFd v : vcpus) {
        v.close();
      }
      if (out != null) {
        out.close(0);
      }
      if (irq != null) {
        irq.close();
      }
      if (openedVm != null) {
        openedVm.close();
      }
      if (openedKvm != null) {
        openedKvm.close();
      }
      memory.close();
      throw e;
    }
    kvm = openedKvm;
    vm = openedVm;
    serialIrq = irq;
    consoleOut = out;
    serial = uart;
    consoleIn = input == null ? null : new ConsoleInput(input, serial);
  }

  /**
   * Builds the VM; nothing runs until {@link #run()}.
   *
   * @throws BootException when the kernel, initrd or command line cannot be booted
   * @throws IOException when a device's host resource (disk image, socket, TAP) cannot be opened
   */
  public static MicroVm create(VmConfig config, OutputStream console, InputStream input)
      throws BootException, IOException {
    return new MicroVm(config, console, input);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      LOG.log(Level.WARNING, "closing a device failed: " + e.getMessage());
    }
  }

  /** How the kernel was loaded, for logs. */
  public String bootSummary() {
    return boot.summary();
  }

  private PlatformEvents platformEvents() {
    return new PlatformEvents() {
      @Override
      public void powerOff() {
        control.end(new VmEnd.PoweredOff());
      }

      @Override
      public void reset() {
        control.end(new VmEnd.Rebooted("reset requested by the guest"));
      }

      @Override
      public void panic() {
        control.end(new VmEnd.Crashed("guest kernel panic"));
      }
    };
  }

  private void kickAll() {
    if (closed) {
      return;
    }
    for (VcpuLoop loop : loops) {
      loop.kick();
    }
  }

  /** Runs the VM until it ends; returns how. */
  public VmEnd run() throws InterruptedException {
    for (int i = 0; i < loops.size(); i++) {
      threads.add(Thread.ofPlatform().name("vcpu-" + i).start(loops.get(i)));
    }
    VmEnd end = control.await();
    joinVcpus();
    return end;
  }

  private void joinVcpus() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(VCPU_JOIN_MILLIS);
    for (Thread t : threads) {
      long left = deadline - System.nanoTime();
      if (left > 0) {
        t.join(TimeUnit.NANOSECONDS.toMillis(left) + 1);
      }
      if (t.isAlive()) {
        kickAll();
        t.join(1000);
      }
    }
  }

  /** Ends the VM from the host side (signal, API); {@link #run()} then returns {@code Stopped}. */
  public void stop(String why) {
    control.end(new VmEnd.Stopped(why));
  }

  /** Holds every vCPU outside the guest until {@link #resume()}. */
  public void pause() {
    control.pause();
  }

  public void resume() {
    control.resume();
  }

  /** Console bytes dropped because the host did not read them fast enough. */
  public long consoleBytesDropped() {
    return consoleOut.dropped();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return; // a signal's shutdown hook and the normal path may both close
    }
    if (!control.isEnding()) {
      stop("closed");
    }
    try {
      joinVcpus();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closed = true;
    if (consoleIn != null) {
      consoleIn.close();
    }
    consoleOut.close();
    // Devices stop before guest RAM goes: their threads hold slices of it.
    virtio.reversed().forEach(VirtioSlot::close);
    boolean threadsGone = threads.stream().noneMatch(Thread::isAlive);
    if (threadsGone) {
      for (VcpuFd v : vcpus) {
        v.close();
      }
      memory.close();
    } else {
      // A vCPU thread that did not leave KVM_RUN still uses its mapping and guest RAM; leaking
      // them is safer than unmapping memory under it. The process is about to end anyway.
      LOG.log(Level.ERROR, "vCPU threads did not stop; leaving their memory mapped");
    }
    serialIrq.close();
    vm.close();
    kvm.close();
  }
}

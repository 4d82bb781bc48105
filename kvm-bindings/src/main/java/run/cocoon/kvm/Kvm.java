package run.cocoon.kvm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** The KVM system file descriptor ({@code /dev/kvm}): capabilities, CPUID, MSR list, new VMs. */
public final class Kvm implements AutoCloseable {
  /** The only stable KVM API version there has ever been. */
  public static final int API_VERSION = 12;
  /** The device node. */
  public static final String DEVICE = "/dev/kvm";
  /** KVM_MAX_CPUID_ENTRIES in current kernels: CPUID buffers are sized for this many entries. */
  public static final int MAX_CPUID_ENTRIES = 256;
  /** Upper bound on the MSR index list, far above any real CPU's (a few hundred). */
  public static final int MAX_MSR_INDICES = 4096;

  private final OwnedFd fd;

  private Kvm(int fd) {
    this.fd = new OwnedFd(fd);
  }

  /** Opens {@code /dev/kvm} and checks the API version. */
  public static Kvm open() {
    int raw = Libc.open(DEVICE, Libc.O_RDWR | Libc.O_CLOEXEC);
    Kvm kvm = new Kvm(raw);
    int version = kvm.apiVersion();
    if (version != API_VERSION) {
      kvm.close();
      throw new SyscallException("KVM_GET_API_VERSION", Errno.EINVAL,
          "API version " + version + ", expected " + API_VERSION);
    }
    return kvm;
  }

  /** Whether {@code /dev/kvm} can be opened and speaks API 12; probed once per process. */
  public static boolean isAvailable() {
    return Probe.CAUSE == null;
  }

  /** Why KVM is unavailable, with what to do about it; {@code null} when it is available. */
  public static String unavailabilityCause() {
    return Probe.CAUSE;
  }

  /** Lazily-initialized holder: the probe runs on first use, once. */
  private static final class Probe {
    static final String CAUSE = probe();

    private static String probe() {
      try (Kvm kvm = open()) {
        return null;
      } catch (SyscallException e) {
        return switch (e.errno()) {
          case Errno.ENOENT -> DEVICE + " does not exist: load the kvm_intel or kvm_amd module"
              + " (modprobe), and enable hardware virtualization in the firmware or, in a VM,"
              + " nested virtualization in the hypervisor";
          case Errno.EACCES, Errno.EPERM -> DEVICE + " is not accessible: add your user to the"
              + " kvm group or run as root";
          default -> DEVICE + " is unusable: " + e.getMessage();
        };
      } catch (RuntimeException | LinkageError e) {
        return "cannot call into libc: " + e;
      }
    }
  }

  /** The raw descriptor. */
  public int fd() {
    return fd.get();
  }

  /** KVM_GET_API_VERSION. */
  public int apiVersion() {
    return fd.ioctl(KvmIoctl.KVM_GET_API_VERSION, 0);
  }

  /** KVM_CHECK_EXTENSION: 0 when unsupported, else a capability-specific positive value. */
  public int checkExtension(int capability) {
    return fd.ioctl(KvmIoctl.KVM_CHECK_EXTENSION, capability);
  }

  /** KVM_GET_VCPU_MMAP_SIZE: bytes to map from each vCPU fd (kvm_run plus I/O data pages). */
  public int vcpuMmapSize() {
    return fd.ioctl(KvmIoctl.KVM_GET_VCPU_MMAP_SIZE, 0);
  }

  /** KVM_CREATE_VM with the default machine type. */
  public VmFd createVm() {
    int vm = fd.ioctl(KvmIoctl.KVM_CREATE_VM, 0);
    return new VmFd(vm, vcpuMmapSize());
  }

  /** KVM_GET_SUPPORTED_CPUID: every leaf KVM can present to a guest. */
  public List<CpuidEntry> supportedCpuid() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = Cpuid.allocate(arena, MAX_CPUID_ENTRIES);
      fd.ioctl(KvmIoctl.KVM_GET_SUPPORTED_CPUID, buf);
      return Cpuid.read(buf);
    }
  }

  /** KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a guest. */
  public int[] msrIndexList() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment probe = arena.allocate(Layouts.KVM_MSR_LIST.byteSize() + 4);
      try {
        fd.ioctl(KvmIoctl.KVM_GET_MSR_INDEX_LIST, probe);
        return readIndices(probe);
      } catch (SyscallException e) {
        if (e.errno() != Errno.E2BIG) {
          throw e;
        }
      }
      // E2BIG: the kernel wrote the needed count into nmsrs.
      int needed = probe.get(JAVA_INT, 0);
      if (needed <= 0 || needed > MAX_MSR_INDICES) {
        throw new SyscallException("KVM_GET_MSR_INDEX_LIST", Errno.E2BIG, needed + " indices");
      }
      MemorySegment buf = arena.allocate(Layouts.KVM_MSR_LIST.byteSize() + 4L * needed, 8);
      buf.set(JAVA_INT, 0, needed);
      fd.ioctl(KvmIoctl.KVM_GET_MSR_INDEX_LIST, buf);
      return readIndices(buf);
    }
  }

  private static int[] readIndices(MemorySegment buf) {
    int n = buf.get(JAVA_INT, 0);
    List<Integer> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(buf.get(JAVA_INT, 4 + 4L * i));
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public void close() {
    fd.close();
  }
}

package run.cocoon.vmm.virtio;

import java.io.IOException;
import run.cocoon.kvm.SyscallException;
import run.cocoon.vmm.VirtioSpec;
import run.cocoon.vmm.virtio.net.VirtioNet;
import run.cocoon.vmm.virtio.block.VirtioBlock;
import run.cocoon.vmm.virtio.rng.VirtioRng;
import run.cocoon.vmm.virtio.vsock.VirtioVsock;

/** Opens the device a {@link VirtioSpec} asks for. */
public final class VirtioDevices {
  private VirtioDevices() {}

  /**
   * Opens host resources (files, sockets, TAPs) for {@code spec}.
   *
   * @throws IOException with a message naming the resource when it cannot be opened
   */
  public static VirtioDevice open(VirtioSpec spec, String name) throws IOException {
    return switch (spec) {
      case VirtioSpec.Rng r -> new VirtioRng(name);
      case VirtioSpec.Disk d -> new VirtioBlock(name, d.image(), d.readOnly(), d.serial());
      case VirtioSpec.Vsock v -> new VirtioVsock(name, v.guestCid(), v.socket());
      case VirtioSpec.Net n -> net(n, name);
    };
  }

  private static VirtioNet net(VirtioSpec.Net spec, String name) throws IOException {
    try {
      return new VirtioNet(name, spec.tap(), spec.mac());
    } catch (SyscallException e) {
      throw new IOException("TAP " + spec.tap() + ": " + e.getMessage(), e);
    }
  }

  /** A short name for logs: kind and index, e.g. "blk0". */
  public static String name(VirtioSpec spec, int index) {
    return switch (spec) {
      case VirtioSpec.Rng r -> "rng" + index;
      case VirtioSpec.Disk d -> "blk" + index;
      case VirtioSpec.Vsock v -> "vsock" + index;
      case VirtioSpec.Net n -> "net" + index;
    };
  }
}

package run.cocoon.shim.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import run.cocoon.vmm.VirtioSpec;

/**
 * The virtio device flags of {@code cocoon vm boot} ({@code --disk}, {@code --net},
 * {@code --vsock}, {@code --rng}) and their JSON equivalents, turned into {@link VirtioSpec}s.
 * Devices are ordered disks, networks, vsock, rng, so the first disk is always {@code /dev/vda}.
 */
final class DeviceOptions {
  private DeviceOptions() {}

  /** {@code "disks": [{"path": ..., "readOnly": ..., "serial": ...}]} in a config file. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record DiskJson(@JsonProperty(value = "path", required = true) String path,
      @JsonProperty("readOnly") Boolean readOnly, @JsonProperty("serial") String serial) {
    VirtioSpec.Disk spec() {
      return new VirtioSpec.Disk(Path.of(path), readOnly != null && readOnly, serial);
    }
  }

  /** {@code "net": [{"tap": ..., "mac": ...}]}. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record NetJson(@JsonProperty(value = "tap", required = true) String tap,
      @JsonProperty("mac") String mac) {
    VirtioSpec.Net spec() {
      return new VirtioSpec.Net(tap, mac);
    }
  }

  /** {@code "vsock": {"cid": ..., "socket": ...}}. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record VsockJson(@JsonProperty(value = "cid", required = true) Long cid,
      @JsonProperty(value = "socket", required = true) String socket) {
    VirtioSpec.Vsock spec() {
      return new VirtioSpec.Vsock(cid, Path.of(socket));
    }
  }

  /** {@code PATH[,ro][,serial=ID]}. */
  static VirtioSpec.Disk disk(String flag) {
    String[] parts = flag.split(",", -1);
    if (parts[0].isEmpty()) {
      throw new IllegalArgumentException("--disk needs a path: PATH[,ro][,serial=ID]");
    }
    boolean readOnly = false;
    String serial = null;
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i];
      if (p.equals("ro")) {
        readOnly = true;
      } else if (p.equals("rw")) {
        readOnly = false;
      } else if (p.startsWith("serial=")) {
        serial = p.substring("serial=".length());
      } else {
        throw new IllegalArgumentException("--disk " + flag + ": unknown option \"" + p
            + "\" (expected ro, rw or serial=ID)");
      }
    }
    return new VirtioSpec.Disk(Path.of(parts[0]), readOnly, serial);
  }

  /** {@code TAP[,mac=MAC]}. */
  static VirtioSpec.Net net(String flag) {
    String[] parts = flag.split(",", -1);
    String mac = null;
    for (int i = 1; i < parts.length; i++) {
      if (!parts[i].startsWith("mac=")) {
        throw new IllegalArgumentException("--net " + flag + ": unknown option \"" + parts[i]
            + "\" (expected mac=MAC)");
      }
      mac = parts[i].substring("mac=".length());
    }
    return new VirtioSpec.Net(parts[0], mac);
  }

  /** {@code CID,SOCKET}. */
  static VirtioSpec.Vsock vsock(String flag) {
    int comma = flag.indexOf(',');
    if (comma <= 0 || comma == flag.length() - 1) {
      throw new IllegalArgumentException("--vsock expects CID,SOCKET, e.g. 3,/run/vm.vsock");
    }
    long cid;
    try {
      cid = Long.parseLong(flag.substring(0, comma));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--vsock: guest CID \"" + flag.substring(0, comma)
          + "\" is not a number");
    }
    return new VirtioSpec.Vsock(cid, Path.of(flag.substring(comma + 1)));
  }

  /** All devices in their fixed order. */
  static List<VirtioSpec> ordered(List<VirtioSpec.Disk> disks, List<VirtioSpec.Net> nets,
      VirtioSpec.Vsock vsock, boolean rng) {
    List<VirtioSpec> all = new ArrayList<>(disks);
    all.addAll(nets);
    if (vsock != null) {
      all.add(vsock);
    }
    if (rng) {
      all.add(new VirtioSpec.Rng());
    }
    return all;
  }
}

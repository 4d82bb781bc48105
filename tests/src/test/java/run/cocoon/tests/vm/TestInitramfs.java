package run.cocoon.tests.vm;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * A busybox initramfs for VM tests. Its {@code /init} picks a scenario from the kernel command
 * line ({@code cocoon.test=NAME}) so that one image serves every boot test.
 */
public final class TestInitramfs {
  static final Path BUSYBOX = Path.of("/bin/busybox");
  static final String MARKER = "COCOON-TEST-MARKER";

  /** The scenarios; the test asserts what each one prints and how the VM ends. */
  static final String INIT = """
      #!/bin/busybox sh
      /bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp
      /bin/busybox --install -s
      export PATH=/bin:/sbin:/usr/bin:/usr/sbin
      mount -t proc proc /proc
      mount -t sysfs sysfs /sys
      mount -t devtmpfs devtmpfs /dev 2>/dev/null
      scenario=$(sed -n 's/.*cocoon\\.test=\\([a-z-]*\\).*/\\1/p' /proc/cmdline)
      # Ends the VM: ACPI power-off, or a reset when the kernel runs without ACPI (acpi=off).
      end() { if grep -q 'acpi=off' /proc/cmdline; then reboot -f; else poweroff -f; fi; }
      up=$(cut -d' ' -f1 /proc/uptime)
      echo "%1$s scenario=$scenario uptime=$up cpus-online=$(cat /sys/devices/system/cpu/online) nproc=$(nproc)"
      case "$scenario" in
        poweroff) poweroff -f ;;
        reboot) reboot -f ;;
        panic) echo "init exits now"; exit 3 ;;
        flood)
          bytes=$(sed -n 's/.*cocoon\\.flood=\\([0-9]*\\).*/\\1/p' /proc/cmdline)
          head -c "${bytes:-1048576}" /dev/zero | tr '\\0' 'x'; echo; echo "%1$s flood-done"; poweroff -f ;;
        rng)
          # virtio-rng bound as the hardware RNG, and bytes read through it.
          echo "%1$s rng-current=$(cat /sys/devices/virtual/misc/hw_random/rng_current) bytes=$(head -c 4096 /dev/hwrng | wc -c) distinct=$(head -c 4096 /dev/hwrng | od -An -tx1 -v | tr -s ' ' '\\n' | sort -u | grep -c .)"
          end ;;
        vsock)
          # The host drives two transfers into guest port 1234; the guest also connects out to
          # host port 5000 (a Unix listener on <uds>_5000) and exchanges a message.
          vsock-test listen 1234 2 & server=$!
          echo "%1$s vsock-out $(vsock-test connect 2 5000 message hello-from-guest 2>&1)"
          wait $server; echo "%1$s vsock-served=$?"
          end ;;
        vsock-bench)
          # vmm-core/bench/vsock-throughput: one transfer each way, then the VM ends.
          vsock-test listen 1234 2; end ;;
        net)
          # virtio-net: eth0 at 172.30.0.2/30 pings the host end of the TAP (172.30.0.1), then a
          # TCP exchange with the host's nc on port 7777 (numbers 1..30000 up, the host's down).
          ip link set eth0 up && ip addr add 172.30.0.2/30 dev eth0
          echo "%1$s net-mac=$(cat /sys/class/net/eth0/address) driver=$(basename $(readlink /sys/class/net/eth0/device/driver)) features=$(cat /sys/class/net/eth0/device/features)"
          if ping -c 3 -W 10 172.30.0.1; then echo "%1$s net-ping=ok"; else echo "%1$s net-ping=failed"; fi
          seq 1 30000 >/tmp/up
          nc 172.30.0.1 7777 </tmp/up >/tmp/down
          echo "%1$s net-tcp-down=$(sha256sum </tmp/down | cut -c1-64) bytes=$(wc -c </tmp/down)"
          end ;;
        blk-write)
          # A host-made ext4 disk: read the host's file, write ours, unmount (all on disk), off.
          mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo "%1$s blk-read=$(cat /mnt/from-host.txt)"
          seq 1 30000 > /mnt/seq.txt && echo guest-wrote-this > /mnt/hello.txt && sync && umount /mnt && echo "%1$s blk-written"
          end ;;
        blk-kill)
          # Written and synced (FLUSH acknowledged); the host kills the VMM when it sees the marker.
          mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && seq 1 30000 > /mnt/seq.txt && sync && echo "%1$s blk-synced"
          sleep 1000 ;;
        blk-ro)
          mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt
          echo "%1$s blk-ro read=$(cat /mnt/from-host.txt) sysfs-ro=$(cat /sys/block/vda/ro)"
          touch /mnt/new 2>/dev/null; t=$?; mount -o remount,rw /mnt 2>/dev/null; m=$?
          dd if=/dev/zero of=/dev/vda bs=512 count=1 oflag=direct conv=notrunc,fsync 2>/dev/null; d=$?
          echo "%1$s blk-ro touch=$t remount=$m dd=$d"
          end ;;
        blk-two)
          mkdir -p /mnt
          for b in /sys/block/vd*; do n=${b##*/}; s=$(cat $b/serial); mount -t ext4 /dev/$n /mnt && echo "$s" > /mnt/who.txt && umount /mnt && echo "%1$s blk-two $n=$s"; done
          end ;;
        blk-bench)
          # vmm-core/bench/blk-throughput: sequential O_DIRECT write, then read, of cocoon.mib MiB.
          mib=$(sed -n 's/.*cocoon\\.mib=\\([0-9]*\\).*/\\1/p' /proc/cmdline)
          t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/dev/vda bs=1M count=$mib oflag=direct conv=fsync 2>/dev/null
          t1=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=1M count=$mib iflag=direct 2>/dev/null
          t2=$(cut -d' ' -f1 /proc/uptime); echo "%1$s blk-bench mib=$mib write-s=$t0,$t1 read-s=$t1,$t2"
          q=/sys/block/vda/queue; echo "%1$s blk-bench-queue max_sectors_kb=$(cat $q/max_sectors_kb) max_segments=$(cat $q/max_segments) max_segment_size=$(cat $q/max_segment_size) stat=$(cat /sys/block/vda/stat | tr -s ' ' ',')"
          end ;;
        *) echo "unknown scenario"; poweroff -f ;;
      esac
      sleep 1000
      """.formatted(MARKER);

  private TestInitramfs() {}

  /** Writes the initramfs to the path given as the only argument (for benchmarks). */
  public static void main(String[] args) throws IOException {
    write(Path.of(args[0]));
  }

  /** Writes the initramfs (newc cpio, uncompressed) to {@code target}. */
  static Path write(Path target) throws IOException {
    byte[] busybox = Files.readAllBytes(BUSYBOX);
    try (OutputStream file = Files.newOutputStream(target);
        CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(file, CpioConstants.FORMAT_NEW)) {
      directory(cpio, "bin");
      directory(cpio, "dev");
      file(cpio, "bin/busybox", busybox, 0755);
      file(cpio, "init", INIT.getBytes(StandardCharsets.US_ASCII), 0755);
      for (Path tool : GuestTools.all()) {
        file(cpio, "bin/" + tool.getFileName(), Files.readAllBytes(tool), 0755);
      }
      cpio.finish();
    }
    return target;
  }

  private static void directory(CpioArchiveOutputStream cpio, String name) throws IOException {
    CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name);
    e.setMode(CpioConstants.C_ISDIR | 0755);
    e.setNumberOfLinks(2);
    cpio.putArchiveEntry(e);
    cpio.closeArchiveEntry();
  }

  private static void file(CpioArchiveOutputStream cpio, String name, byte[] data, int mode)
      throws IOException {
    CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, data.length);
    e.setMode(CpioConstants.C_ISREG | mode);
    e.setNumberOfLinks(1);
    cpio.putArchiveEntry(e);
    cpio.write(data);
    cpio.closeArchiveEntry();
  }
}

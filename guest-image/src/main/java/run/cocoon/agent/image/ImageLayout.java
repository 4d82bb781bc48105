package run.cocoon.agent.image;

import java.util.List;

/**
 * What the guest image holds and where: the JRE's modules and jlink options, the agent's JVM
 * flags, the paths inside the image, the mount points and the {@code /init} script. All of it is
 * part of the image's key ({@link ImageKey}).
 */
final class ImageLayout {
  /** Bump when the image's layout or the build steps change: it is part of the key. */
  static final String RECIPE = "2";

  /**
   * The JRE's modules. {@code jdeps --print-module-deps} over the agent and jackson gives
   * {@code java.base} alone (jackson's uses of java.sql, java.desktop and java.xml are optional and
   * skipped when absent); {@code GuestImageBuilderTest} re-checks it.
   */
  static final List<String> MODULES = List.of("java.base");
  static final List<String> JLINK_OPTIONS = List.of(
      "--strip-debug", "--no-header-files", "--no-man-pages", "--compress=zip-6");

  /**
   * JVM flags of the agent, the same for the training run and in the guest (the AOT cache is only
   * used by a JVM configured like the one that recorded it). Serial GC and C1 only: one agent on
   * one or two vCPUs gains nothing from parallel GC threads or C2's warm-up, and both cost memory.
   * No perf data file ({@code /tmp/hsperfdata_*}) in the guest. Unlike our other JVMs, no
   * {@code --illegal-native-access=deny}: with it, JDK 25 archives no full module graph and so no
   * AOT-linked classes (the cache degrades to plain class data sharing); the image holds no JNI
   * library besides the JDK's own, and JNI from the class path would still be warned about.
   *
   * <p>No AOT adapter caching: JDK 25 turns it on with an AOT cache and stores the i2c/c2i
   * adapters as machine code for the build host's CPU, without checking the CPU that loads them.
   * An image built on an AVX-512 host died of SIGILL in {@code ~AdapterBlob} in a guest without
   * AVX-512. Adapters are generated at start-up instead (cheap); classes, heap objects and profiles
   * in the cache are CPU-independent.
   */
  static final List<String> JVM_FLAGS = List.of(
      "--enable-native-access=ALL-UNNAMED",
      "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
      "-XX:+UnlockDiagnosticVMOptions", "-XX:-AOTAdapterCaching");

  static final String JRE_DIR = "usr/lib/jvm";
  static final String AGENT_DIR = "usr/lib/cocoon";
  static final String LIB_DIR = AGENT_DIR + "/lib";
  static final String AOT_CACHE = AGENT_DIR + "/agent.aot";
  static final String JVM_ARGS = AGENT_DIR + "/jvm.args";
  static final String MAIN_CLASS = "run.cocoon.agent.AgentMain";

  /** Directories that exist before anything is mounted on them. */
  static final List<String> MOUNT_POINTS = List.of("dev", "proc", "sys", "tmp", "run", "root");

  /**
   * The init script: puts the image's tree on a real mount, mounts /proc, notes the uptime,
   * becomes the agent's JVM.
   *
   * <p>The kernel's rootfs (where the initramfs is unpacked) has no parent mount, so nothing can
   * pivot_root away from it (EINVAL), and container runtimes pivot_root into every container's
   * root. So the first pass binds the tree onto a directory of itself, moves that mount over
   * {@code /} and chroots into it, as switch_root does (without deleting anything): the root is
   * then a bind mount whose parent is rootfs. The second pass, in the new root, starts the JVM.
   */
  static final String INIT = """
      #!/bin/busybox sh
      # PID 1 until the exec below: gives the JVM a root it can pivot away from, /proc and its
      # start time, then becomes the agent. cocoon.agent.aot=off on the kernel command line starts
      # the agent without its AOT cache.
      if [ -z "$COCOON_ROOT_MOVED" ]; then
        /bin/busybox mkdir -p /.root
        /bin/busybox mount --bind / /.root
        cd /.root
        /bin/busybox mount --move . /
        export COCOON_ROOT_MOVED=1
        exec /bin/busybox chroot . /init
      fi
      unset COCOON_ROOT_MOVED
      /bin/busybox mount -t proc -o nosuid,nodev,noexec proc /proc
      read -r up rest < /proc/uptime
      read -r cmdline < /proc/cmdline
      aot=
      case " $cmdline " in *" cocoon.agent.aot=off "*) aot=-XX:AOTMode=off ;; esac
      exec /%s/bin/java @/%s $aot -D%s="$up" %s
      """.formatted(JRE_DIR, JVM_ARGS, "cocoon.boot.init-uptime", MAIN_CLASS);

  private ImageLayout() {}
}

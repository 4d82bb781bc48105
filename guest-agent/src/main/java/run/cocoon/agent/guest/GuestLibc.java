package run.cocoon.agent.guest;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The only FFM binding of the guest agent: the libc calls PID 1 and the vsock transport need.
 * Every failing call throws {@link SyscallException} with the errno captured right after the call
 * (the JVM may clobber errno before Java code could read it). Nothing is linked "critical":
 * accept, poll, read and write block, and a blocked critical call would keep the JVM from reaching
 * a safepoint. Struct layouts and constants are public so that the ABI test can compare them with
 * the C headers.
 *
 * <p>All memory handed to the kernel is allocated here from Java arenas with the exact layout
 * size, so no address returned by native code is ever widened with {@code reinterpret}.
 */
public final class GuestLibc {
  // <sys/socket.h>, <linux/vm_sockets.h>
  public static final int AF_UNIX = 1;
  public static final int AF_INET = 2;
  public static final int AF_VSOCK = 40;
  public static final int SOCK_STREAM = 1;
  public static final int SOCK_DGRAM = 2;
  public static final int SOCK_NONBLOCK = 0x800;
  public static final int SOCK_CLOEXEC = 0x80000;
  public static final int SHUT_RD = 0;
  public static final int SHUT_WR = 1;
  public static final int SHUT_RDWR = 2;
  /** Bind to every CID of this machine ({@code -1U}). */
  public static final int VMADDR_CID_ANY = -1;
  public static final int VMADDR_CID_LOCAL = 1;
  public static final int VMADDR_CID_HOST = 2;
  // <sys/mount.h>
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_NOEXEC = 8;
  public static final long MS_RELATIME = 1L << 21;
  public static final int MNT_DETACH = 2;
  // <sys/wait.h>
  public static final int P_ALL = 0;
  public static final int P_PID = 1;
  public static final int WNOHANG = 1;
  public static final int WEXITED = 4;
  public static final int WNOWAIT = 0x01000000;
  public static final int CLD_EXITED = 1;
  public static final int CLD_KILLED = 2;
  public static final int CLD_DUMPED = 3;
  // <linux/reboot.h>
  public static final int LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC;
  public static final int LINUX_REBOOT_CMD_RESTART = 0x01234567;
  // <time.h>
  public static final int CLOCK_REALTIME = 0;
  // <linux/sockios.h>, <net/if.h>
  public static final long SIOCGIFFLAGS = 0x8913;
  public static final long SIOCSIFFLAGS = 0x8914;
  public static final int IFF_UP = 0x1;
  public static final int IFNAMSIZ = 16;
  // <poll.h>
  public static final short POLLIN = 0x1;
  public static final short POLLOUT = 0x4;
  // <sys/eventfd.h>
  public static final int EFD_NONBLOCK = 0x800;
  public static final int EFD_CLOEXEC = 0x80000;
  // <sys/prctl.h>
  public static final int PR_SET_CHILD_SUBREAPER = 36;

  /** {@code struct sockaddr_vm}: 16 bytes, like {@code struct sockaddr}. */
  public static final StructLayout SOCKADDR_VM = MemoryLayout.structLayout(
      JAVA_SHORT.withName("svm_family"),
      JAVA_SHORT.withName("svm_reserved1"),
      JAVA_INT.withName("svm_port"),
      JAVA_INT.withName("svm_cid"),
      JAVA_BYTE.withName("svm_flags"),
      MemoryLayout.sequenceLayout(3, JAVA_BYTE).withName("svm_zero")).withName("sockaddr_vm");
  /** {@code struct sockaddr_un}. */
  public static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
      JAVA_SHORT.withName("sun_family"),
      MemoryLayout.sequenceLayout(108, JAVA_BYTE).withName("sun_path")).withName("sockaddr_un");
  /** {@code struct timespec} on x86-64. */
  public static final StructLayout TIMESPEC = MemoryLayout.structLayout(
      JAVA_LONG.withName("tv_sec"),
      JAVA_LONG.withName("tv_nsec")).withName("timespec");
  /** {@code struct ifreq} with the {@code ifr_flags} member of its union. */
  public static final StructLayout IFREQ = MemoryLayout.structLayout(
      MemoryLayout.sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
      JAVA_SHORT.withName("ifr_flags"),
      MemoryLayout.paddingLayout(22)).withName("ifreq");
  /** {@code struct pollfd}. */
  public static final StructLayout POLLFD = MemoryLayout.structLayout(
      JAVA_INT.withName("fd"),
      JAVA_SHORT.withName("events"),
      JAVA_SHORT.withName("revents")).withName("pollfd");
  /** {@code siginfo_t} as {@code waitid} fills it for {@code SIGCHLD}: 128 bytes. */
  public static final StructLayout SIGINFO = MemoryLayout.structLayout(
      JAVA_INT.withName("si_signo"),
      JAVA_INT.withName("si_errno"),
      JAVA_INT.withName("si_code"),
      MemoryLayout.paddingLayout(4),
      JAVA_INT.withName("si_pid"),
      JAVA_INT.withName("si_uid"),
      JAVA_INT.withName("si_status"),
      MemoryLayout.paddingLayout(100)).withName("siginfo_t");

  private static final VarHandle SVM_FAMILY = field(SOCKADDR_VM, "svm_family");
  private static final VarHandle SVM_PORT = field(SOCKADDR_VM, "svm_port");
  private static final VarHandle SVM_CID = field(SOCKADDR_VM, "svm_cid");
  private static final VarHandle SUN_FAMILY = field(SOCKADDR_UN, "sun_family");
  private static final VarHandle TV_SEC = field(TIMESPEC, "tv_sec");
  private static final VarHandle TV_NSEC = field(TIMESPEC, "tv_nsec");
  private static final VarHandle IFR_FLAGS = field(IFREQ, "ifr_flags");
  private static final VarHandle POLL_FD = field(POLLFD, "fd");
  private static final VarHandle POLL_EVENTS = field(POLLFD, "events");
  private static final VarHandle POLL_REVENTS = field(POLLFD, "revents");
  private static final VarHandle SI_CODE = field(SIGINFO, "si_code");
  private static final VarHandle SI_PID = field(SIGINFO, "si_pid");
  private static final VarHandle SI_STATUS = field(SIGINFO, "si_status");

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  private static final MethodHandle MOUNT = link("mount",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
  private static final MethodHandle UMOUNT2 = link("umount2",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle SETHOSTNAME = link("sethostname",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
  private static final MethodHandle SYNC = LINKER.downcallHandle(symbol("sync"),
      FunctionDescriptor.ofVoid());
  private static final MethodHandle REBOOT = link("reboot",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  private static final MethodHandle CLOCK_SETTIME = link("clock_settime",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  private static final MethodHandle WAITID = link("waitid",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle SOCKET = link("socket",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
  private static final MethodHandle BIND = link("bind",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle LISTEN = link("listen",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
  private static final MethodHandle ACCEPT4 = link("accept4",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
  private static final MethodHandle CONNECT = link("connect",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle SHUTDOWN = link("shutdown",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
  private static final MethodHandle READ = link("read",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
  private static final MethodHandle WRITE = link("write",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
  private static final MethodHandle CLOSE = link("close",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  private static final MethodHandle POLL = link("poll",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
  private static final MethodHandle EVENTFD = link("eventfd",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
  // ioctl and prctl are variadic: the fixed arguments are (fd, request) and (option).
  private static final MethodHandle IOCTL_PTR = link("ioctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
      Linker.Option.firstVariadicArg(2));
  private static final MethodHandle PRCTL_LONG = link("prctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG),
      Linker.Option.firstVariadicArg(1));

  /** Per-thread errno buffer: reader threads call in a loop, so it is not reallocated. */
  private static final ThreadLocal<MemorySegment> ERRNO_BUFFER =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

  private GuestLibc() {}

  /**
   * Does nothing but make sure every call above is linked (class initialization links them all),
   * so that start-up timings can tell linking from the calls themselves.
   */
  public static void link() {}

  private static VarHandle field(StructLayout layout, String name) {
    return layout.varHandle(MemoryLayout.PathElement.groupElement(name));
  }

  private static MemorySegment symbol(String name) {
    return LIBC.find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
  }

  private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... extra) {
    Linker.Option[] options = new Linker.Option[extra.length + 1];
    options[0] = CAPTURE_ERRNO;
    System.arraycopy(extra, 0, options, 1, extra.length);
    return LINKER.downcallHandle(symbol(name), fd, options);
  }

  private static MemorySegment errnoBuffer() {
    return ERRNO_BUFFER.get();
  }

  private static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  private static int check(String call, int rc, MemorySegment state, String detail) {
    if (rc < 0) {
      throw new SyscallException(call, errno(state), detail);
    }
    return rc;
  }

  private static MemorySegment cString(Arena arena, String s) {
    return s == null ? MemorySegment.NULL : arena.allocateFrom(s);
  }

  // --- file systems, host name, power, clock ------------------------------------------------

  /** mount(2); {@code data} may be null. */
  public static void mount(String source, String target, String type, long flags, String data) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = errnoBuffer();
      int rc = (int) MOUNT.invokeExact(state, cString(arena, source), cString(arena, target),
          cString(arena, type), flags, cString(arena, data));
      check("mount", rc, state, type + " on " + target);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** umount2(2). */
  public static void umount2(String target, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = errnoBuffer();
      int rc = (int) UMOUNT2.invokeExact(state, arena.allocateFrom(target), flags);
      check("umount2", rc, state, target);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** sethostname(2); the name is passed without its terminating NUL, as the call expects. */
  public static void sethostname(String name) {
    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(Math.max(1, bytes.length));
      MemorySegment.copy(bytes, 0, buffer, JAVA_BYTE, 0, bytes.length);
      MemorySegment state = errnoBuffer();
      int rc = (int) SETHOSTNAME.invokeExact(state, buffer, (long) bytes.length);
      check("sethostname", rc, state, name);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** sync(2): cannot fail. */
  public static void sync() {
    try {
      SYNC.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * reboot(2) with a {@code LINUX_REBOOT_CMD_*} command. Power-off and restart do not return
   * when they succeed; without a power-off method the kernel halts instead.
   */
  public static void reboot(int command) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) REBOOT.invokeExact(state, command);
      check("reboot", rc, state, null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** clock_settime(CLOCK_REALTIME). */
  public static void setRealtimeClock(Instant now) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ts = arena.allocate(TIMESPEC);
      TV_SEC.set(ts, 0L, now.getEpochSecond());
      TV_NSEC.set(ts, 0L, (long) now.getNano());
      MemorySegment state = errnoBuffer();
      int rc = (int) CLOCK_SETTIME.invokeExact(state, CLOCK_REALTIME, ts);
      check("clock_settime", rc, state, now.toString());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** prctl(2) with one integer argument. */
  public static void prctl(int option, long arg) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) PRCTL_LONG.invokeExact(state, option, arg);
      check("prctl", rc, state, "option " + option);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // --- children ------------------------------------------------------------------------------

  /** A child that {@code waitid} reported: its pid, how it ended ({@code CLD_*}) and the status. */
  public record ChildState(int pid, int code, int status) {}

  /**
   * waitid(2) with {@code WNOHANG} added: the child that {@code idType}/{@code id} select and that
   * changed state as {@code options} ask, or null when none has (or there are no children at all:
   * ECHILD is an ordinary answer for PID 1). Retries EINTR.
   */
  public static ChildState waitid(int idType, int id, int options) {
    try (Arena arena = Arena.ofConfined()) {
      // Zero-filled: with WNOHANG and no waitable child, waitid returns 0 and leaves si_pid 0.
      MemorySegment info = arena.allocate(SIGINFO);
      while (true) {
        MemorySegment state = errnoBuffer();
        int rc = (int) WAITID.invokeExact(state, idType, id, info, options | WNOHANG);
        if (rc == 0) {
          int pid = (int) SI_PID.get(info, 0L);
          return pid == 0 ? null
              : new ChildState(pid, (int) SI_CODE.get(info, 0L), (int) SI_STATUS.get(info, 0L));
        }
        int errno = errno(state);
        if (errno == Errno.ECHILD) {
          return null;
        }
        if (errno != Errno.EINTR) {
          throw new SyscallException("waitid", errno, null);
        }
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // --- sockets and descriptors --------------------------------------------------------------

  /** socket(2). */
  public static int socket(int domain, int type, int protocol) {
    try {
      MemorySegment state = errnoBuffer();
      int fd = (int) SOCKET.invokeExact(state, domain, type, protocol);
      return check("socket", fd, state, "domain " + domain);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** A {@code struct sockaddr_vm} for {@code cid}:{@code port}, allocated in {@code arena}. */
  public static MemorySegment sockaddrVm(Arena arena, int cid, int port) {
    MemorySegment addr = arena.allocate(SOCKADDR_VM);
    SVM_FAMILY.set(addr, 0L, (short) AF_VSOCK);
    SVM_PORT.set(addr, 0L, port);
    SVM_CID.set(addr, 0L, cid);
    return addr;
  }

  /** A {@code struct sockaddr_un} for a path name (at most 107 bytes), allocated in {@code arena}. */
  public static MemorySegment sockaddrUn(Arena arena, String path) {
    byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
    long capacity = SOCKADDR_UN.byteSize() - JAVA_SHORT.byteSize();
    if (bytes.length >= capacity || path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("not a usable unix socket path: " + path);
    }
    MemorySegment addr = arena.allocate(SOCKADDR_UN);
    SUN_FAMILY.set(addr, 0L, (short) AF_UNIX);
    MemorySegment.copy(bytes, 0, addr, JAVA_BYTE, JAVA_SHORT.byteSize(), bytes.length);
    return addr;
  }

  /** The port of a {@code struct sockaddr_vm}. */
  public static int sockaddrVmPort(MemorySegment addr) {
    return (int) SVM_PORT.get(addr, 0L);
  }

  /** The CID of a {@code struct sockaddr_vm}. */
  public static int sockaddrVmCid(MemorySegment addr) {
    return (int) SVM_CID.get(addr, 0L);
  }

  /** bind(2) to the whole of {@code addr}. */
  public static void bind(int fd, MemorySegment addr) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) BIND.invokeExact(state, fd, addr, (int) addr.byteSize());
      check("bind", rc, state, null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** listen(2). */
  public static void listen(int fd, int backlog) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) LISTEN.invokeExact(state, fd, backlog);
      check("listen", rc, state, null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * accept4(2) on a non-blocking listener: the new descriptor, or -1 when no connection is
   * waiting (EAGAIN) or the call was interrupted (EINTR). {@code peer} receives the peer's
   * address (its whole size is offered); it may be {@link MemorySegment#NULL}.
   */
  public static int accept4(int fd, MemorySegment peer, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment length = MemorySegment.NULL;
      if (!peer.equals(MemorySegment.NULL)) {
        length = arena.allocate(JAVA_INT);
        length.set(JAVA_INT, 0, (int) peer.byteSize());
      }
      MemorySegment state = errnoBuffer();
      int rc = (int) ACCEPT4.invokeExact(state, fd, peer, length, flags);
      if (rc < 0) {
        int errno = errno(state);
        // ECONNABORTED: the peer gave up between poll and accept; also "nothing to take".
        if (errno == Errno.EAGAIN || errno == Errno.EINTR || errno == Errno.ECONNABORTED) {
          return -1;
        }
        throw new SyscallException("accept4", errno, null);
      }
      return rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * connect(2) on a non-blocking socket; returns once connected. While the connection is under
   * way (EINPROGRESS, or EINTR/EALREADY) this waits for the socket to become writable and asks
   * again, which answers success or EISCONN once connected, or the connection's error.
   */
  public static void connect(int fd, MemorySegment addr) {
    try {
      while (true) {
        MemorySegment state = errnoBuffer();
        int rc = (int) CONNECT.invokeExact(state, fd, addr, (int) addr.byteSize());
        if (rc == 0) {
          return;
        }
        int errno = errno(state);
        if (errno == Errno.EISCONN) {
          return;
        }
        if (errno != Errno.EINPROGRESS && errno != Errno.EINTR && errno != Errno.EALREADY) {
          throw new SyscallException("connect", errno, null);
        }
        Readiness.await(new int[] {fd}, POLLOUT);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** shutdown(2); ENOTCONN (the peer is already gone) is not an error here. */
  public static void shutdown(int fd, int how) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) SHUTDOWN.invokeExact(state, fd, how);
      if (rc < 0 && errno(state) != Errno.ENOTCONN) {
        throw new SyscallException("shutdown", errno(state), null);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * read(2) into {@code buffer}, retrying EINTR; 0 means end of stream, -1 that a non-blocking
   * descriptor has nothing yet (EAGAIN).
   */
  public static long read(int fd, MemorySegment buffer) {
    return transfer(READ, "read", fd, buffer);
  }

  /**
   * write(2) from {@code buffer}, retrying EINTR; returns the bytes written (maybe fewer), or -1
   * when a non-blocking descriptor takes nothing now (EAGAIN).
   */
  public static long write(int fd, MemorySegment buffer) {
    return transfer(WRITE, "write", fd, buffer);
  }

  private static long transfer(MethodHandle call, String name, int fd, MemorySegment buffer) {
    try {
      while (true) {
        MemorySegment state = errnoBuffer();
        long n = (long) call.invokeExact(state, fd, buffer, buffer.byteSize());
        if (n >= 0) {
          return n;
        }
        int errno = errno(state);
        if (errno == Errno.EAGAIN) {
          return -1;
        }
        if (errno != Errno.EINTR) {
          throw new SyscallException(name, errno, null);
        }
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * close(2). The descriptor is gone even when close reports an error (Linux releases it first),
   * so callers must not retry; the error is still reported.
   */
  public static void close(int fd) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) CLOSE.invokeExact(state, fd);
      if (rc < 0 && errno(state) != Errno.EINTR) {
        throw new SyscallException("close", errno(state), "fd " + fd);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * poll(2) on one descriptor; returns its {@code revents} (0 on timeout or EINTR).
   * {@code timeoutMillis} &lt; 0 waits without limit.
   */
  public static int poll(int fd, short events, int timeoutMillis) {
    return poll(new int[] {fd}, new short[] {events}, timeoutMillis)[0];
  }

  /** poll(2) on several descriptors for the same events; returns each one's {@code revents}. */
  public static int[] poll(int[] fds, short events, int timeoutMillis) {
    short[] each = new short[fds.length];
    java.util.Arrays.fill(each, events);
    return poll(fds, each, timeoutMillis);
  }

  /** poll(2), {@code events[i]} for {@code fds[i]}; returns each one's {@code revents}. */
  public static int[] poll(int[] fds, short[] events, int timeoutMillis) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment set = arena.allocate(POLLFD, fds.length);
      for (int i = 0; i < fds.length; i++) {
        MemorySegment one = set.asSlice(i * POLLFD.byteSize(), POLLFD);
        POLL_FD.set(one, 0L, fds[i]);
        POLL_EVENTS.set(one, 0L, events[i]);
      }
      MemorySegment state = errnoBuffer();
      int rc = (int) POLL.invokeExact(state, set, (long) fds.length, timeoutMillis);
      int[] revents = new int[fds.length];
      if (rc < 0) {
        if (errno(state) != Errno.EINTR) {
          throw new SyscallException("poll", errno(state), null);
        }
        return revents;
      }
      for (int i = 0; i < fds.length; i++) {
        revents[i] = (short) POLL_REVENTS.get(set.asSlice(i * POLLFD.byteSize(), POLLFD), 0L);
      }
      return revents;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** eventfd(2). */
  public static int eventfd(int initialValue, int flags) {
    try {
      MemorySegment state = errnoBuffer();
      int fd = (int) EVENTFD.invokeExact(state, initialValue, flags);
      return check("eventfd", fd, state, null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Sets {@code IFF_UP} on a network interface (SIOCGIFFLAGS, then SIOCSIFFLAGS). */
  public static void interfaceUp(String name) {
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length >= IFNAMSIZ) {
      throw new IllegalArgumentException("interface name too long: " + name);
    }
    // Interface ioctls need a socket of any family; a datagram socket costs nothing.
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ifr = arena.allocate(IFREQ);
      MemorySegment.copy(bytes, 0, ifr, JAVA_BYTE, 0, bytes.length);
      ioctl(fd, "SIOCGIFFLAGS", SIOCGIFFLAGS, ifr);
      short flags = (short) IFR_FLAGS.get(ifr, 0L);
      IFR_FLAGS.set(ifr, 0L, (short) (flags | IFF_UP));
      ioctl(fd, "SIOCSIFFLAGS", SIOCSIFFLAGS, ifr);
    } finally {
      close(fd);
    }
  }

  private static void ioctl(int fd, String name, long request, MemorySegment arg) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
      check(name, rc, state, null);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}

package run.cocoon.container;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * The few libc calls the container library makes from Java, as FFM downcalls. errno is captured
 * right after each call. Nothing namespace- or credential-changing happens here: a JVM is
 * multi-threaded and must not unshare or clone itself; that is the helper's job. Nothing is linked
 * "critical": read and waitpid block.
 */
final class Sys {
  static final int O_CLOEXEC = 0x80000;
  static final int EINTR = 4;
  static final int ESRCH = 3;
  static final int ECHILD = 10;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  private static final MethodHandle PIPE2 = link("pipe2",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle CLOSE = link("close",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle READ = link("read",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
  private static final MethodHandle WRITE = link("write",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
  private static final MethodHandle KILL = link("kill",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle WAITPID = link("waitpid",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle OPEN = link("open",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  // fcntl is variadic after (fd, cmd); only F_DUPFD_CLOEXEC with an int is used.
  private static final MethodHandle FCNTL_INT = link("fcntl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  // ioctl is variadic after (fd, request); only TIOCSWINSZ/TIOCGPTN/TIOCSPTLCK with a pointer.
  private static final MethodHandle IOCTL_PTR = link("ioctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  // syscall(2) is variadic after the number; every argument is passed as a long, as it reads them.
  private static final MethodHandle SYSCALL_1 = link("syscall",
      FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
  private static final MethodHandle SYSCALL_4 = link("syscall",
      FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
  private static final MethodHandle GETEUID = link("geteuid", FunctionDescriptor.of(JAVA_INT));
  private static final MethodHandle MOUNT = link("mount",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS), CAPTURE_ERRNO);
  private static final MethodHandle UMOUNT2 = link("umount2",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle MKFIFO = link("mkfifo",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle SOCKET = link("socket",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle CONNECT = link("connect",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle SENDMSG = link("sendmsg",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle BIND = link("bind",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle LISTEN = link("listen",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle ACCEPT4 = link("accept4",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle RECVMSG = link("recvmsg",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), CAPTURE_ERRNO);
  // prctl is variadic after the option; only PR_SET_CHILD_SUBREAPER with one long is used.
  private static final MethodHandle PRCTL_1 = link("prctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));
  // posix_spawn: the only way to hand the helper fds 3..5 (ProcessBuilder passes 0..2 only).
  // It reports failure through its return value, not errno.
  private static final MethodHandle SPAWN = link("posix_spawn",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
  private static final MethodHandle FA_INIT = link("posix_spawn_file_actions_init",
      FunctionDescriptor.of(JAVA_INT, ADDRESS));
  private static final MethodHandle FA_DUP2 = link("posix_spawn_file_actions_adddup2",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
  private static final MethodHandle FA_DESTROY = link("posix_spawn_file_actions_destroy",
      FunctionDescriptor.of(JAVA_INT, ADDRESS));

  /**
   * First fd number the child's fds are staged at before landing on 0..n: above anything the
   * caller passes in practice; the helper closes everything above fd 5 first thing.
   */
  private static final int SPAWN_FD_STAGING = 1000;

  /** glibc's posix_spawn_file_actions_t is 80 bytes on x86_64; leave room. */
  private static final long FILE_ACTIONS_BYTES = 256;

  private static final ThreadLocal<MemorySegment> STATE =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

  private Sys() {}

  // Restricted: Linker.downcallHandle. Every handle above is linked here, with the C signature
  // from the glibc headers; none is "critical" (read and waitpid block).
  @SuppressWarnings("restricted")
  private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... options) {
    MemorySegment symbol = LIBC.find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
    return LINKER.downcallHandle(symbol, fd, options);
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

  /** pipe2(O_CLOEXEC): returns {read end, write end}. */
  static int[] pipe() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment fds = arena.allocate(JAVA_INT, 2);
      MemorySegment state = STATE.get();
      int rc = (int) PIPE2.invokeExact(state, fds, O_CLOEXEC);
      if (rc < 0) {
        throw new NativeCallException("pipe2", errno(state));
      }
      return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** close(2), ignoring errors (used on cleanup paths; fds here are never shared). */
  static void closeQuietly(int fd) {
    if (fd < 0) {
      return;
    }
    try {
      int unused = (int) CLOSE.invokeExact(STATE.get(), fd);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** read(2) into {@code buf}; retries EINTR; returns 0 at EOF. */
  static int read(int fd, MemorySegment buf, long len) {
    try {
      for (;;) {
        MemorySegment state = STATE.get();
        long n = (long) READ.invokeExact(state, fd, buf, len);
        if (n >= 0) {
          return (int) n;
        }
        if (errno(state) != EINTR) {
          throw new NativeCallException("read", errno(state));
        }
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** write(2) of all {@code len} bytes; retries EINTR and short writes. */
  static void writeFully(int fd, MemorySegment buf, long len) {
    try {
      long off = 0;
      while (off < len) {
        MemorySegment state = STATE.get();
        long n = (long) WRITE.invokeExact(state, fd, buf.asSlice(off), len - off);
        if (n < 0) {
          if (errno(state) == EINTR) {
            continue;
          }
          throw new NativeCallException("write", errno(state));
        }
        off += n;
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void writeFully(int fd, byte[] data) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(Math.max(1, data.length));
      MemorySegment.copy(MemorySegment.ofArray(data), 0, buf, 0, data.length);
      writeFully(fd, buf, data.length);
    }
  }

  /** kill(2); returns false when the process is gone (ESRCH). */
  static boolean kill(int pid, int signal) {
    try {
      MemorySegment state = STATE.get();
      int rc = (int) KILL.invokeExact(state, pid, signal);
      if (rc < 0) {
        if (errno(state) == ESRCH) {
          return false;
        }
        throw new NativeCallException("kill", errno(state));
      }
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Blocking waitpid(pid, &status, 0), retrying EINTR; returns the raw wait status. */
  static int waitpid(int pid) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment status = arena.allocate(JAVA_INT);
      for (;;) {
        MemorySegment state = STATE.get();
        int rc = (int) WAITPID.invokeExact(state, pid, status, 0);
        if (rc == pid) {
          return status.get(JAVA_INT, 0);
        }
        if (rc < 0 && errno(state) != EINTR) {
          throw new NativeCallException("waitpid", errno(state));
        }
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static final int O_RDWR = 2;
  static final int O_NOCTTY = 0x100;
  private static final int F_DUPFD_CLOEXEC = 1030;
  private static final long TIOCSWINSZ = 0x5414;
  private static final long TIOCGPTN = 0x80045430L;
  private static final long TIOCSPTLCK = 0x40045431L;

  /** open(2). */
  static int open(String path, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = STATE.get();
      int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
      if (fd < 0) {
        throw new NativeCallException("open " + path, errno(state));
      }
      return fd;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** fcntl(F_DUPFD_CLOEXEC): a close-on-exec duplicate of {@code fd}. */
  static int dup(int fd) {
    try {
      MemorySegment state = STATE.get();
      int rc = (int) FCNTL_INT.invokeExact(state, fd, F_DUPFD_CLOEXEC, 0);
      if (rc < 0) {
        throw new NativeCallException("fcntl(F_DUPFD_CLOEXEC)", errno(state));
      }
      return rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static void ioctl(int fd, String name, long request, MemorySegment arg) throws Throwable {
    MemorySegment state = STATE.get();
    int rc = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
    if (rc < 0) {
      throw new NativeCallException(name, errno(state));
    }
  }

  /**
   * Opens a new pseudo-terminal pair from /dev/ptmx with the given window size. Returns
   * {master, slave}, both close-on-exec; the slave is not made anyone's controlling terminal.
   */
  static int[] openPty(int rows, int cols) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment n = arena.allocate(JAVA_INT);
      n.set(JAVA_INT, 0, 0);
      ioctl(master, "TIOCSPTLCK", TIOCSPTLCK, n);
      ioctl(master, "TIOCGPTN", TIOCGPTN, n);
      MemorySegment ws = arena.allocate(8); // struct winsize: 4 x unsigned short
      ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) rows);
      ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) cols);
      ioctl(master, "TIOCSWINSZ", TIOCSWINSZ, ws);
      int slave = open("/dev/pts/" + n.get(JAVA_INT, 0), O_RDWR | O_NOCTTY | O_CLOEXEC);
      return new int[] {master, slave};
    } catch (Throwable t) {
      closeQuietly(master);
      throw rethrow(t);
    }
  }

  private static final long SYS_PIDFD_SEND_SIGNAL = 424;
  private static final long SYS_PIDFD_OPEN = 434;
  private static final long PIDFD_CLOEXEC_DEFAULT = 0; // pidfds are always close-on-exec

  /** pidfd_open(2); -1 when the process is gone or the kernel lacks pidfds. */
  static int pidfdOpen(int pid) {
    try {
      long rc = (long) SYSCALL_1.invokeExact(STATE.get(), SYS_PIDFD_OPEN, (long) pid,
          PIDFD_CLOEXEC_DEFAULT);
      return rc < 0 ? -1 : (int) rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** pidfd_send_signal(2); false when the process has ended (ESRCH). */
  static boolean pidfdSignal(int pidfd, int signal) {
    try {
      MemorySegment state = STATE.get();
      long rc = (long) SYSCALL_4.invokeExact(state, SYS_PIDFD_SEND_SIGNAL, (long) pidfd,
          (long) signal, 0L, 0L);
      if (rc < 0) {
        if (errno(state) == ESRCH) {
          return false;
        }
        throw new NativeCallException("pidfd_send_signal", errno(state));
      }
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static int geteuid() {
    try {
      return (int) GETEUID.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * posix_spawn of {@code path} with an empty environment, where child fd {@code i} becomes
   * {@code fds[i]}. Returns the child's pid.
   */
  static int spawn(String path, List<String> args, int[] fds) {
    for (int fd : fds) {
      if (fd < 0 || fd >= SPAWN_FD_STAGING) {
        throw new IllegalArgumentException("fd " + fd + " outside 0.." + (SPAWN_FD_STAGING - 1));
      }
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment actions = arena.allocate(FILE_ACTIONS_BYTES, 16);
      check("posix_spawn_file_actions_init", (int) FA_INIT.invokeExact(actions));
      try {
        // dup2 onto targets in two rounds through high numbers, so a source fd that equals a
        // lower target is not overwritten before it is used.
        int high = SPAWN_FD_STAGING;
        for (int i = 0; i < fds.length; i++) {
          check("posix_spawn_file_actions_adddup2", (int) FA_DUP2.invokeExact(actions, fds[i], high + i));
        }
        for (int i = 0; i < fds.length; i++) {
          check("posix_spawn_file_actions_adddup2", (int) FA_DUP2.invokeExact(actions, high + i, i));
        }
        MemorySegment argv = arena.allocate(ADDRESS, args.size() + 1);
        for (int i = 0; i < args.size(); i++) {
          argv.setAtIndex(ADDRESS, i, arena.allocateFrom(args.get(i)));
        }
        argv.setAtIndex(ADDRESS, args.size(), MemorySegment.NULL);
        MemorySegment envp = arena.allocate(ADDRESS, 1);
        envp.setAtIndex(ADDRESS, 0, MemorySegment.NULL);
        MemorySegment pid = arena.allocate(JAVA_INT);
        check("posix_spawn", (int) SPAWN.invokeExact(pid, arena.allocateFrom(path), actions,
            MemorySegment.NULL, argv, envp));
        return pid.get(JAVA_INT, 0);
      } finally {
        int unused = (int) FA_DESTROY.invokeExact(actions);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static void check(String call, int rc) {
    if (rc != 0) {
      throw new NativeCallException(call, rc);
    }
  }

  private static final int WNOHANG = 1;
  static final int O_WRONLY = 1;
  static final int O_NONBLOCK = 0x800;
  static final int ENXIO = 6;
  static final int EINVAL = 22;

  /** waitpid(pid, WNOHANG): the wait status, or -1 if the child has not ended (or is not ours). */
  static int waitpidNoHang(int pid) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment status = arena.allocate(JAVA_INT);
      int rc = (int) WAITPID.invokeExact(STATE.get(), pid, status, WNOHANG);
      return rc > 0 ? status.get(JAVA_INT, 0) : -1;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** mount(2); empty strings are passed as NULL. */
  static void mount(String source, String target, String fstype, long flags, String data) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = STATE.get();
      int rc = (int) MOUNT.invokeExact(state, cstr(arena, source), cstr(arena, target),
          cstr(arena, fstype), flags, cstr(arena, data));
      if (rc < 0) {
        throw new NativeCallException("mount " + fstype + " on " + target, errno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MemorySegment cstr(Arena arena, String s) {
    return s == null || s.isEmpty() ? MemorySegment.NULL : arena.allocateFrom(s);
  }

  /** umount2(2); returns the errno (0 on success). */
  static int umount2(String target, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = STATE.get();
      int rc = (int) UMOUNT2.invokeExact(state, arena.allocateFrom(target), flags);
      return rc < 0 ? errno(state) : 0;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void mkfifo(String path, int mode) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = STATE.get();
      if ((int) MKFIFO.invokeExact(state, arena.allocateFrom(path), mode) < 0) {
        throw new NativeCallException("mkfifo " + path, errno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  static void setChildSubreaper() {
    try {
      MemorySegment state = STATE.get();
      if ((int) PRCTL_1.invokeExact(state, 36 /* PR_SET_CHILD_SUBREAPER */, 1L) < 0) {
        throw new NativeCallException("prctl(PR_SET_CHILD_SUBREAPER)", errno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static final int AF_UNIX = 1;
  private static final int SOCK_STREAM = 1;
  private static final int SOL_SOCKET = 1;
  private static final int SCM_RIGHTS = 1;
  /** sizeof(struct sockaddr_un.sun_path). */
  static final int SUN_PATH_BYTES = 108;

  /**
   * Connects to the Unix stream socket at {@code path} and sends {@code fd} with SCM_RIGHTS and
   * {@code name} as the message bytes (what runc sends on --console-socket: the pty master).
   */
  static void sendFd(String path, int fd, String name) {
    int sock = -1;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment addr = unixAddress(arena, path);
      MemorySegment state = STATE.get();
      sock = unixSocket(state, 0);
      if ((int) CONNECT.invokeExact(state, sock, addr, (int) addr.byteSize()) < 0) {
        throw new NativeCallException("connect " + path, errno(state));
      }
      byte[] n = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      MemorySegment data = arena.allocate(Math.max(1, n.length));
      MemorySegment.copy(n, 0, data, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, n.length);
      MemorySegment iov = arena.allocate(16, 8); // struct iovec {base, len}
      iov.set(ADDRESS, 0, data);
      iov.set(JAVA_LONG, 8, Math.max(1, n.length));
      // struct cmsghdr {size_t len; int level; int type;} + one int, padded to 8 (CMSG_SPACE)
      MemorySegment cmsg = arena.allocate(24, 8);
      cmsg.set(JAVA_LONG, 0, 20); // CMSG_LEN(sizeof(int))
      cmsg.set(JAVA_INT, 8, SOL_SOCKET);
      cmsg.set(JAVA_INT, 12, SCM_RIGHTS);
      cmsg.set(JAVA_INT, 16, fd);
      // struct msghdr {name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad)}
      MemorySegment msg = arena.allocate(56, 8);
      msg.set(ADDRESS, 16, iov);
      msg.set(JAVA_LONG, 24, 1);
      msg.set(ADDRESS, 32, cmsg);
      msg.set(JAVA_LONG, 40, 24);
      if ((long) SENDMSG.invokeExact(state, sock, msg, 0) < 0) {
        throw new NativeCallException("sendmsg " + path, errno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      closeQuietly(sock);
    }
  }

  private static final int SOCK_NONBLOCK = 04000;
  private static final int MSG_CMSG_CLOEXEC = 0x40000000;
  /** Bytes of message data accepted beside the fd: runc's peers send the pty's name. */
  private static final int RECEIVE_DATA_BYTES = 256;

  /** A {@code struct sockaddr_un} for {@code path}, which must fit {@code sun_path}. */
  private static MemorySegment unixAddress(Arena arena, String path) {
    byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (p.length >= SUN_PATH_BYTES) {
      throw new NativeCallException("console socket path too long: " + path, EINVAL);
    }
    MemorySegment addr = arena.allocate(2 + SUN_PATH_BYTES);
    addr.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
    MemorySegment.copy(p, 0, addr, java.lang.foreign.ValueLayout.JAVA_BYTE, 2, p.length);
    return addr;
  }

  /** A close-on-exec Unix stream socket, with {@code flags} (e.g. SOCK_NONBLOCK) added. */
  private static int unixSocket(MemorySegment state, int flags) throws Throwable {
    int sock = (int) SOCKET.invokeExact(state, AF_UNIX, SOCK_STREAM | O_CLOEXEC | flags, 0);
    if (sock < 0) {
      throw new NativeCallException("socket(AF_UNIX)", errno(state));
    }
    return sock;
  }

  /**
   * A listening Unix stream socket at {@code path} (which must not exist), non-blocking and
   * close-on-exec, with a backlog of one.
   */
  static int listenUnix(String path) {
    int sock = -1;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment addr = unixAddress(arena, path);
      MemorySegment state = STATE.get();
      sock = unixSocket(state, SOCK_NONBLOCK);
      if ((int) BIND.invokeExact(state, sock, addr, (int) addr.byteSize()) < 0) {
        throw new NativeCallException("bind " + path, errno(state));
      }
      if ((int) LISTEN.invokeExact(state, sock, 1) < 0) {
        throw new NativeCallException("listen " + path, errno(state));
      }
      int done = sock;
      sock = -1;
      return done;
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      closeQuietly(sock);
    }
  }

  /**
   * Accepts the connection waiting on {@code listenFd} (EAGAIN if none) and receives the one fd
   * it sends with SCM_RIGHTS, close-on-exec. Anything but exactly one fd in one SCM_RIGHTS
   * message is refused (fds that came along are closed).
   */
  static int receiveFd(int listenFd) {
    int conn = -1;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = STATE.get();
      conn = (int) ACCEPT4.invokeExact(state, listenFd, MemorySegment.NULL, MemorySegment.NULL,
          O_CLOEXEC);
      if (conn < 0) {
        throw new NativeCallException("accept on the console socket", errno(state));
      }
      MemorySegment data = arena.allocate(RECEIVE_DATA_BYTES);
      MemorySegment iov = arena.allocate(16, 8); // struct iovec {base, len}
      iov.set(ADDRESS, 0, data);
      iov.set(JAVA_LONG, 8, RECEIVE_DATA_BYTES);
      // Room for one cmsghdr with one int (CMSG_SPACE(sizeof(int)) = 24), and one more, so a
      // peer that sends two fds is seen doing so rather than truncated silently.
      MemorySegment cmsg = arena.allocate(48, 8);
      MemorySegment msg = arena.allocate(56, 8); // struct msghdr, as in sendFd
      msg.set(ADDRESS, 16, iov);
      msg.set(JAVA_LONG, 24, 1);
      msg.set(ADDRESS, 32, cmsg);
      msg.set(JAVA_LONG, 40, cmsg.byteSize());
      long n = (long) RECVMSG.invokeExact(state, conn, msg, MSG_CMSG_CLOEXEC);
      if (n < 0) {
        throw new NativeCallException("recvmsg on the console socket", errno(state));
      }
      long controlLength = msg.get(JAVA_LONG, 40);
      long cmsgLength = controlLength >= 16 ? cmsg.get(JAVA_LONG, 0) : 0;
      boolean rights = cmsgLength >= 16 && cmsg.get(JAVA_INT, 8) == SOL_SOCKET
          && cmsg.get(JAVA_INT, 12) == SCM_RIGHTS;
      int fds = rights ? (int) Math.min((cmsgLength - 16) / 4, (cmsg.byteSize() - 16) / 4) : 0;
      for (int i = 1; i < fds; i++) {
        closeQuietly(cmsg.get(JAVA_INT, 16 + 4L * i));
      }
      if (fds != 1 || controlLength > 24) {
        if (fds >= 1) {
          closeQuietly(cmsg.get(JAVA_INT, 16));
        }
        throw new NativeCallException("the console socket's peer sent " + fds
            + " file descriptors, not one", EINVAL);
      }
      return cmsg.get(JAVA_INT, 16);
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      closeQuietly(conn);
    }
  }

  /** TIOCSWINSZ: the terminal's size as its programs see it. */
  static void setWindowSize(int fd, int rows, int cols) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment ws = arena.allocate(8); // struct winsize: 4 x unsigned short
      ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 0, (short) rows);
      ws.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 2, (short) cols);
      ioctl(fd, "TIOCSWINSZ", TIOCSWINSZ, ws);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}

package run.cocoon.kvm;

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

/**
 * The libc calls the VMM needs, as thin FFM downcalls. Every failing call throws
 * {@link SyscallException} with the errno captured right after the call (the JVM may clobber
 * errno before Java code could read it otherwise). No call here is linked as "critical": some of
 * them block, and a blocked critical call would keep the JVM from reaching a safepoint.
 */
public final class Libc {
  public static final int O_RDONLY = 0;
  public static final int O_RDWR = 2;
  public static final int O_CLOEXEC = 0x80000;
  public static final int O_NONBLOCK = 0x800;

  public static final int PROT_NONE = 0;
  public static final int PROT_READ = 1;
  public static final int PROT_WRITE = 2;
  public static final int MAP_SHARED = 0x01;
  public static final int MAP_PRIVATE = 0x02;
  public static final int MAP_ANONYMOUS = 0x20;
  public static final int MAP_NORESERVE = 0x4000;

  public static final int EFD_CLOEXEC = O_CLOEXEC;
  public static final int EFD_NONBLOCK = O_NONBLOCK;

  public static final int POLLIN = 0x001;
  public static final int POLLOUT = 0x004;
  public static final int POLLERR = 0x008;
  public static final int POLLHUP = 0x010;
  public static final int POLLNVAL = 0x020;

  public static final int AF_UNIX = 1;
  public static final int SOCK_DGRAM = 2;
  public static final int SOCK_NONBLOCK = O_NONBLOCK;
  public static final int SOCK_CLOEXEC = O_CLOEXEC;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  private static final MethodHandle OPEN = link("open",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  private static final MethodHandle CLOSE = link("close",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  // ioctl is variadic after (fd, request): link both argument shapes the KVM API uses.
  private static final MethodHandle IOCTL_LONG = link("ioctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  private static final MethodHandle IOCTL_PTR = link("ioctl",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  private static final MethodHandle MMAP = link("mmap",
      FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
      CAPTURE_ERRNO);
  private static final MethodHandle MUNMAP = link("munmap",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
  private static final MethodHandle EVENTFD = link("eventfd",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle READ = link("read",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
  private static final MethodHandle WRITE = link("write",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), CAPTURE_ERRNO);
  // poll blocks until a descriptor is ready: never critical.
  private static final MethodHandle POLL = link("poll",
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
  // socketpair returns its two descriptors through the int[2] it is given.
  private static final MethodHandle SOCKETPAIR = link("socketpair",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), CAPTURE_ERRNO);
  private static final MethodHandle GETRANDOM = link("getrandom",
      FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT), CAPTURE_ERRNO);
  private static final MethodHandle PTHREAD_SELF = link("pthread_self",
      FunctionDescriptor.of(JAVA_LONG));
  // pthread_kill reports failure through its return value, not errno.
  private static final MethodHandle PTHREAD_KILL = link("pthread_kill",
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
  private static final MethodHandle SIGACTION = link("sigaction",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), CAPTURE_ERRNO);
  private static final MethodHandle SIGRTMIN = link("__libc_current_sigrtmin",
      FunctionDescriptor.of(JAVA_INT));

  /** Per-thread buffer receiving errno; vCPU threads call in a loop, so it is not reallocated. */
  private static final ThreadLocal<MemorySegment> ERRNO_BUFFER =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

  private Libc() {}

  private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... options) {
    MemorySegment symbol = LIBC.find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
    return LINKER.downcallHandle(symbol, fd, options);
  }

  static MemorySegment errnoBuffer() {
    return ERRNO_BUFFER.get();
  }

  static int lastErrno(MemorySegment state) {
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

  /** open(2). */
  public static int open(String path, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = errnoBuffer();
      int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
      if (fd < 0) {
        throw new SyscallException("open", lastErrno(state), path);
      }
      return fd;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** close(2); a failure (EBADF on a closed fd) throws. */
  public static void close(int fd) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) CLOSE.invokeExact(state, fd);
      if (rc < 0) {
        throw new SyscallException("close", lastErrno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** ioctl(2) with an integer argument; returns the non-negative result. */
  public static int ioctl(int fd, String name, long request, long arg) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
      if (rc < 0) {
        throw new SyscallException(name, lastErrno(state));
      }
      return rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** ioctl(2) with a pointer argument; returns the non-negative result. */
  public static int ioctl(int fd, String name, long request, MemorySegment arg) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) IOCTL_PTR.invokeExact(state, fd, request, arg);
      if (rc < 0) {
        throw new SyscallException(name, lastErrno(state));
      }
      return rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * ioctl(2) with an integer argument that reports failure as {@code -errno} instead of
   * throwing: for KVM_RUN, whose EINTR is an ordinary outcome on the hot path.
   */
  static int ioctlOrErrno(int fd, long request, long arg) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) IOCTL_LONG.invokeExact(state, fd, request, arg);
      return rc < 0 ? -lastErrno(state) : rc;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** mmap(2); returns the raw zero-length address segment (callers give it its size). */
  static MemorySegment mmapRaw(long length, int prot, int flags, int fd, long offset) {
    try {
      MemorySegment state = errnoBuffer();
      MemorySegment addr =
          (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
      if (addr.address() == -1L) { // MAP_FAILED
        throw new SyscallException("mmap", lastErrno(state), length + " bytes");
      }
      return addr;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Maps {@code length} bytes of {@code fd} (or anonymous memory when {@code fd} is -1) and returns
   * a segment of exactly that size, unmapped when {@code arena} closes.
   */
  public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset, Arena arena) {
    if (length <= 0) {
      throw new IllegalArgumentException("mmap length must be positive: " + length);
    }
    MemorySegment raw = mmapRaw(length, prot, flags, fd, offset);
    long address = raw.address();
    // Size is right: mmap succeeded for exactly `length` bytes starting at this address, and the
    // mapping lives until the cleanup action below unmaps it when the arena closes.
    return raw.reinterpret(length, arena, s -> munmapQuietly(address, length));
  }

  /**
   * Anonymous private memory that is neither committed nor charged against swap until touched
   * (guest RAM: a guest that never touches a page costs the host nothing for it).
   */
  public static MemorySegment mmapAnonymous(long length, Arena arena) {
    return mmap(length, PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, arena);
  }

  private static void munmapQuietly(long address, long length) {
    try {
      int rc = (int) MUNMAP.invokeExact(errnoBuffer(), MemorySegment.ofAddress(address), length);
      assert rc == 0 : "munmap failed";
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * getrandom(2) into all of {@code buffer} (flags 0: the kernel's pool, blocking only before it
   * is first seeded); retries on EINTR and short reads.
   */
  public static void getrandom(MemorySegment buffer) {
    try {
      long done = 0;
      while (done < buffer.byteSize()) {
        MemorySegment state = errnoBuffer();
        MemorySegment rest = buffer.asSlice(done);
        long n = (long) GETRANDOM.invokeExact(state, rest, rest.byteSize(), 0);
        if (n < 0) {
          int errno = lastErrno(state);
          if (errno == Errno.EINTR) {
            continue;
          }
          throw new SyscallException("getrandom", errno);
        }
        done += n;
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** eventfd(2). */
  public static int eventfd(int initialValue, int flags) {
    try {
      MemorySegment state = errnoBuffer();
      int fd = (int) EVENTFD.invokeExact(state, initialValue, flags);
      if (fd < 0) {
        throw new SyscallException("eventfd", lastErrno(state));
      }
      return fd;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** read(2) into {@code buffer}; returns the byte count, or {@code -errno} for EAGAIN/EINTR. */
  public static long read(int fd, MemorySegment buffer) {
    try {
      MemorySegment state = errnoBuffer();
      long n = (long) READ.invokeExact(state, fd, buffer, buffer.byteSize());
      if (n < 0) {
        int errno = lastErrno(state);
        if (errno == Errno.EAGAIN || errno == Errno.EINTR) {
          return -errno;
        }
        throw new SyscallException("read", errno);
      }
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** write(2) from {@code buffer}; returns the byte count, or {@code -errno} for EAGAIN/EINTR. */
  public static long write(int fd, MemorySegment buffer) {
    try {
      MemorySegment state = errnoBuffer();
      long n = (long) WRITE.invokeExact(state, fd, buffer, buffer.byteSize());
      if (n < 0) {
        int errno = lastErrno(state);
        if (errno == Errno.EAGAIN || errno == Errno.EINTR) {
          return -errno;
        }
        throw new SyscallException("write", errno);
      }
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * poll(2) over the first {@code count} {@code struct pollfd} entries of {@code fds} (see
   * {@link PollSet}); returns how many are ready, 0 on timeout or when a signal interrupted the wait.
   */
  static int poll(MemorySegment fds, long count, int timeoutMillis) {
    if (count < 0 || count * Layouts.POLLFD.byteSize() > fds.byteSize()) {
      throw new IllegalArgumentException(count + " pollfd entries do not fit " + fds.byteSize() + " bytes");
    }
    try {
      MemorySegment state = errnoBuffer();
      int n = (int) POLL.invokeExact(state, fds, count, timeoutMillis);
      if (n < 0) {
        int errno = lastErrno(state);
        if (errno == Errno.EINTR) {
          return 0;
        }
        throw new SyscallException("poll", errno);
      }
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** socketpair(2); returns both descriptors. */
  public static int[] socketpair(int domain, int type, int protocol) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment fds = arena.allocate(JAVA_INT, 2);
      MemorySegment state = errnoBuffer();
      int rc = (int) SOCKETPAIR.invokeExact(state, domain, type, protocol, fds);
      if (rc < 0) {
        throw new SyscallException("socketpair", lastErrno(state));
      }
      return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** pthread_self(3): the calling thread's handle, for {@link #pthreadKill}. */
  public static long pthreadSelf() {
    try {
      return (long) PTHREAD_SELF.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** pthread_kill(3). */
  public static void pthreadKill(long thread, int signal) {
    try {
      int rc = (int) PTHREAD_KILL.invokeExact(thread, signal);
      if (rc != 0) {
        throw new SyscallException("pthread_kill", rc);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The first real-time signal number glibc leaves to applications. */
  public static int sigrtmin() {
    try {
      return (int) SIGRTMIN.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** sigaction(2) with a prepared {@code struct sigaction}; the old action is discarded. */
  static void sigaction(int signal, MemorySegment action) {
    try {
      MemorySegment state = errnoBuffer();
      int rc = (int) SIGACTION.invokeExact(state, signal, action, MemorySegment.NULL);
      if (rc < 0) {
        throw new SyscallException("sigaction", lastErrno(state), "signal " + signal);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The address of a libc function, for use as a native callback target. */
  static MemorySegment symbol(String name) {
    return LIBC.find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
  }
}

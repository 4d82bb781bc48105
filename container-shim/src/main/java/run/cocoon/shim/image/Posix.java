package run.cocoon.shim.image;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The two libc calls layer unpacking needs that java.nio.file lacks: mknod (device nodes and
 * FIFOs) and lsetxattr (extended attributes outside the "user." namespace, such as
 * security.capability, without following symlinks). Kept in one place so the FFM surface of the
 * image code stays this small; errno is captured right after each call.
 */
final class Posix {
  static final int S_IFIFO = 0010000;
  static final int S_IFCHR = 0020000;
  static final int S_IFBLK = 0060000;
  static final int EPERM = 1;
  static final int ENOTSUP = 95;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final MethodHandle MKNOD =
      LINKER.downcallHandle(
          LINKER.defaultLookup().find("mknod").orElseThrow(),
          FunctionDescriptor.of(
              ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
          Linker.Option.captureCallState("errno"));
  private static final MethodHandle LSETXATTR =
      LINKER.downcallHandle(
          LINKER.defaultLookup().find("lsetxattr").orElseThrow(),
          FunctionDescriptor.of(
              ValueLayout.JAVA_INT,
              ValueLayout.ADDRESS,
              ValueLayout.ADDRESS,
              ValueLayout.ADDRESS,
              ValueLayout.JAVA_LONG,
              ValueLayout.JAVA_INT),
          Linker.Option.captureCallState("errno"));

  private Posix() {}

  /** The failing call's errno, carried so callers can tell "not permitted" from real errors. */
  static final class ErrnoException extends java.io.IOException {
    private static final long serialVersionUID = 1L;
    final int errno;

    ErrnoException(String call, Path p, int errno) {
      super(call + "(" + p + ") failed with errno " + errno);
      this.errno = errno;
    }
  }

  /** glibc's makedev: 12 bits of major and 20 of minor, split across the 64-bit dev_t. */
  static long makedev(long major, long minor) {
    return ((major & 0xfffL) << 8)
        | ((major & ~0xfffL) << 32)
        | (minor & 0xffL)
        | ((minor & ~0xffL) << 12);
  }

  static void mknod(Path p, int mode, long major, long minor) throws ErrnoException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment state = a.allocate(CAPTURE);
      int r =
          (int) MKNOD.invokeExact(state, a.allocateFrom(p.toString()), mode, makedev(major, minor));
      if (r != 0) {
        throw new ErrnoException("mknod", p, (int) ERRNO.get(state, 0L));
      }
    } catch (ErrnoException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("mknod downcall failed", t);
    }
  }

  static void lsetxattr(Path p, String name, byte[] value) throws ErrnoException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment state = a.allocate(CAPTURE);
      MemorySegment v = a.allocate(Math.max(1, value.length));
      MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
      int r =
          (int)
              LSETXATTR.invokeExact(
                  state, a.allocateFrom(p.toString()), a.allocateFrom(name), v,
                  (long) value.length, 0);
      if (r != 0) {
        throw new ErrnoException("lsetxattr", p, (int) ERRNO.get(state, 0L));
      }
    } catch (ErrnoException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("lsetxattr downcall failed", t);
    }
  }
}

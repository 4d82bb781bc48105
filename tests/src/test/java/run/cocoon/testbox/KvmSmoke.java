package run.cocoon.testbox;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * A self-contained FFM program run inside the box: opens /dev/kvm, asks KVM_GET_API_VERSION and
 * creates a VM. Prints {@code api=<n> vm_fd=<fd>} and exits 0, or says what failed and exits 1.
 * Deliberately independent of kvm-bindings, so the box can be checked on its own.
 */
@SuppressWarnings("restricted")
public final class KvmSmoke {
  // _IO(KVMIO=0xAE, nr): no size or direction bits.
  private static final long KVM_GET_API_VERSION = 0xAE00L;
  private static final long KVM_CREATE_VM = 0xAE01L;
  private static final int O_RDWR = 2;
  private static final int O_CLOEXEC = 0x80000;

  private KvmSmoke() {}

  public static void main(String[] args) {
    try {
      System.out.println(check());
    } catch (IllegalStateException e) {
      System.err.println("KvmSmoke: " + e.getMessage());
      System.exit(1);
    }
  }

  /** Returns {@code api=<n> vm_fd=<fd>}; throws IllegalStateException saying what failed. */
  public static String check() {
    try {
      return doCheck();
    } catch (IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("FFM call failed: " + t, t);
    }
  }

  private static String doCheck() throws Throwable {
    Linker linker = Linker.nativeLinker();
    var libc = linker.defaultLookup();
    StructLayout state = Linker.Option.captureStateLayout();
    VarHandle errnoHandle = state.varHandle(field("errno"));
    Linker.Option errno = Linker.Option.captureCallState("errno");
    MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
        errno, Linker.Option.firstVariadicArg(2));
    // ioctl(int, unsigned long, ...): variadic from the third argument.
    MethodHandle ioctl = linker.downcallHandle(libc.find("ioctl").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
        errno, Linker.Option.firstVariadicArg(2));
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment st = arena.allocate(state);
      int kvm = (int) open.invokeExact(st, arena.allocateFrom("/dev/kvm"), O_RDWR | O_CLOEXEC);
      if (kvm < 0) {
        fail("open(/dev/kvm) failed, errno " + (int) errnoHandle.get(st, 0L));
      }
      int api = (int) ioctl.invokeExact(st, kvm, KVM_GET_API_VERSION, 0L);
      if (api < 0) {
        fail("KVM_GET_API_VERSION failed, errno " + (int) errnoHandle.get(st, 0L));
      }
      int vm = (int) ioctl.invokeExact(st, kvm, KVM_CREATE_VM, 0L);
      if (vm < 0) {
        fail("KVM_CREATE_VM failed, errno " + (int) errnoHandle.get(st, 0L));
      }
      return "api=" + api + " vm_fd=" + vm;
    }
  }

  private static java.lang.foreign.MemoryLayout.PathElement field(String name) {
    return java.lang.foreign.MemoryLayout.PathElement.groupElement(name);
  }

  private static void fail(String why) {
    throw new IllegalStateException(why);
  }
}

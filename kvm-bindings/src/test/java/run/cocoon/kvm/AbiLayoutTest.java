package run.cocoon.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks every struct size, field offset, ioctl number and constant of the bindings against the
 * compiler's view of the installed kernel headers: a C program is generated from the Java layouts,
 * compiled with gcc and run, and each number it prints must equal ours.
 */
class AbiLayoutTest {
  @TempDir static Path dir;
  private static Map<String, Long> fromC;
  private static Map<String, Long> expected;

  @BeforeAll
  static void compileAndRun() throws Exception {
    assumeTrue(onPath("gcc"), "gcc is not installed (apt-get install gcc libc6-dev); "
        + "the ABI check compiles a C program");
    assumeTrue(Files.exists(Path.of("/usr/include/linux/kvm.h")),
        "/usr/include/linux/kvm.h is missing (apt-get install linux-libc-dev)");
    expected = new LinkedHashMap<>();
    StringBuilder c = new StringBuilder("""
        #define _GNU_SOURCE
        #include <stddef.h>
        #include <stdio.h>
        #include <errno.h>
        #include <signal.h>
        #include <fcntl.h>
        #include <poll.h>
        #include <sys/eventfd.h>
        #include <sys/mman.h>
        #include <sys/socket.h>
        #include <linux/kvm.h>
        #include <linux/if.h>
        #include <linux/if_tun.h>
        #include <linux/virtio_net.h>
        #define P(key, expr) printf("%s %lld\\n", key, (long long)(expr))
        int main(void) {
        """);
    for (StructLayout layout : Layouts.ALL) {
      String struct = "struct " + layout.name().orElseThrow();
      if (layout != Layouts.KVM_RUN) { // our kvm_run layout stops after the exit union
        emit(c, struct + " size", "sizeof(" + struct + ")", layout.byteSize());
      }
      fields(c, struct, layout, "", 0, layout == Layouts.KVM_RUN);
    }
    emit(c, "sizeof sigaction", "sizeof(struct sigaction)", VcpuKick.SIGACTION.byteSize());
    for (String f : List.of("sa_handler", "sa_mask", "sa_flags", "sa_restorer")) {
      emit(c, "offsetof sigaction." + f, "offsetof(struct sigaction, " + f + ")",
          Layouts.offset(VcpuKick.SIGACTION, f));
    }
    for (KvmIoctl ioctl : KvmIoctl.values()) {
      emit(c, ioctl.name(), "(unsigned long)" + ioctl.name(), ioctl.request());
    }
    constants(c, KvmCap.class, "KVM_CAP_");
    constants(c, ExitDecoder.class, "");
    constants(c, Errno.class, "");
    constants(c, Libc.class, "");
    constants(c, Tap.class, "");
    for (MpState s : MpState.values()) {
      emit(c, "KVM_MP_STATE_" + s.name(), "KVM_MP_STATE_" + s.name(), s.ordinal());
    }
    emit(c, "KVM_SYSTEM_EVENT_SHUTDOWN", "KVM_SYSTEM_EVENT_SHUTDOWN", VmExit.SystemEvent.SHUTDOWN);
    emit(c, "KVM_SYSTEM_EVENT_RESET", "KVM_SYSTEM_EVENT_RESET", VmExit.SystemEvent.RESET);
    emit(c, "KVM_SYSTEM_EVENT_CRASH", "KVM_SYSTEM_EVENT_CRASH", VmExit.SystemEvent.CRASH);
    emit(c, "KVM_MEM_READONLY", "KVM_MEM_READONLY", MemoryRegion.READONLY);
    emit(c, "KVM_MEM_LOG_DIRTY_PAGES", "KVM_MEM_LOG_DIRTY_PAGES", MemoryRegion.LOG_DIRTY_PAGES);
    emit(c, "KVM_API_VERSION", "KVM_API_VERSION", Kvm.API_VERSION);
    emit(c, "KVM_MAX_XCRS", "KVM_MAX_XCRS", Layouts.MAX_XCRS);
    emit(c, "KVM_APIC_REG_SIZE", "KVM_APIC_REG_SIZE", Layouts.LAPIC_STATE_BYTES);
    c.append("  return 0;\n}\n");

    Path source = dir.resolve("abi.c");
    Path binary = dir.resolve("abi");
    Files.writeString(source, c);
    run(List.of("gcc", "-O0", "-o", binary.toString(), source.toString()));
    fromC = new LinkedHashMap<>();
    for (String line : run(List.of(binary.toString())).split("\n")) {
      int space = line.lastIndexOf(' ');
      fromC.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
    }
  }

  private static void emit(StringBuilder c, String key, String expr, long ours) {
    c.append("  P(\"").append(key).append("\", ").append(expr).append(");\n");
    expected.put(key, ours);
  }

  /** Named members, recursively; the kvm_run exit union is anonymous in C. */
  private static void fields(StringBuilder c, String struct, GroupLayout group, String prefix,
      long base, boolean skipUnionName) {
    for (MemoryLayout member : group.memberLayouts()) {
      if (member.name().isEmpty()) {
        continue; // unnamed padding
      }
      long offset = base + group.byteOffset(MemoryLayout.PathElement.groupElement(member.name().get()));
      boolean anonymous = skipUnionName && member.name().get().equals("exit");
      String path = anonymous ? prefix : prefix + member.name().get();
      if (!anonymous) {
        emit(c, "offsetof " + struct + "." + path, "offsetof(" + struct + ", " + path + ")", offset);
      }
      if (member instanceof GroupLayout inner) {
        fields(c, struct, inner, anonymous ? prefix : path + ".", offset, false);
      }
    }
  }

  private static void constants(StringBuilder c, Class<?> holder, String cPrefix) throws Exception {
    for (Field f : holder.getDeclaredFields()) {
      int m = f.getModifiers();
      if (Modifier.isPublic(m) && Modifier.isStatic(m) && f.getType() == int.class) {
        String name = cPrefix + f.getName();
        emit(c, name, name, f.getInt(null));
      }
    }
  }

  private static boolean onPath(String tool) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
    assertEquals(0, p.exitValue(), () -> command + " failed:\n" + out);
    return out;
  }

  @Test
  void everyNumberMatchesTheKernelHeaders() {
    List<String> mismatches = new ArrayList<>();
    expected.forEach((key, ours) -> {
      Long theirs = fromC.get(key);
      if (!ours.equals(theirs)) {
        mismatches.add(key + ": ours " + ours + ", headers " + theirs);
      }
    });
    assertEquals(List.of(), mismatches);
    assertTrue(expected.size() > 200, "checked only " + expected.size() + " numbers");
  }

  @Test
  void ioctlNumbersAreDistinct() {
    assertEquals(KvmIoctl.values().length,
        java.util.Arrays.stream(KvmIoctl.values()).mapToLong(KvmIoctl::request).distinct().count());
  }
}

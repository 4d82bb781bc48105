package run.cocoon.agent.guest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
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
 * Every struct size, field offset and constant of {@link GuestLibc} and {@link Errno} against the
 * C compiler's view of the installed headers: a C program generated from the Java side is compiled
 * with gcc and run; each number it prints must equal ours.
 */
class GuestAbiTest {
  /** Our layouts and the C type each one stands for. */
  private static final Map<StructLayout, String> STRUCTS = Map.of(
      GuestLibc.SOCKADDR_VM, "struct sockaddr_vm",
      GuestLibc.SOCKADDR_UN, "struct sockaddr_un",
      GuestLibc.TIMESPEC, "struct timespec",
      GuestLibc.IFREQ, "struct ifreq",
      GuestLibc.POLLFD, "struct pollfd",
      GuestLibc.SIGINFO, "siginfo_t");

  @TempDir static Path dir;
  private static final Map<String, Long> expected = new LinkedHashMap<>();
  private static final Map<String, Long> fromC = new LinkedHashMap<>();

  @BeforeAll
  static void compileAndRun() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")),
        "gcc is not installed (apt-get install gcc libc6-dev); the ABI check compiles a C program");
    StringBuilder c = new StringBuilder("""
        #define _GNU_SOURCE
        #include <stddef.h>
        #include <stdio.h>
        #include <errno.h>
        #include <signal.h>
        #include <poll.h>
        #include <time.h>
        #include <sys/eventfd.h>
        #include <sys/ioctl.h>
        #include <sys/mount.h>
        #include <sys/prctl.h>
        #include <sys/socket.h>
        #include <sys/un.h>
        #include <sys/wait.h>
        #include <net/if.h>
        #include <linux/reboot.h>
        #include <linux/vm_sockets.h>
        #define P(key, expr) printf("%s %lld\\n", key, (long long)(expr))
        int main(void) {
        """);
    STRUCTS.forEach((layout, type) -> {
      emit(c, type + " size", "sizeof(" + type + ")", layout.byteSize());
      for (MemoryLayout member : layout.memberLayouts()) {
        if (member.name().isPresent()) {
          String name = member.name().get();
          emit(c, type + "." + name, "offsetof(" + type + ", " + name + ")",
              layout.byteOffset(MemoryLayout.PathElement.groupElement(name)));
        }
      }
    });
    constants(c, GuestLibc.class);
    constants(c, Errno.class);
    c.append("  return 0;\n}\n");

    Path source = dir.resolve("abi.c");
    Path binary = dir.resolve("abi");
    Files.writeString(source, c);
    run(List.of("gcc", "-O0", "-o", binary.toString(), source.toString()));
    for (String line : run(List.of(binary.toString())).split("\n")) {
      int space = line.lastIndexOf(' ');
      fromC.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
    }
  }

  private static void emit(StringBuilder c, String key, String expr, long ours) {
    c.append("  P(\"").append(key).append("\", ").append(expr).append(");\n");
    expected.put(key, ours);
  }

  /** Public static int, short and long fields; C values are cast to the Java field's width. */
  private static void constants(StringBuilder c, Class<?> holder) throws IllegalAccessException {
    for (Field f : holder.getDeclaredFields()) {
      int m = f.getModifiers();
      if (!Modifier.isPublic(m) || !Modifier.isStatic(m)) {
        continue;
      }
      String name = f.getName();
      if (f.getType() == int.class) {
        emit(c, name, "(int)(" + name + ")", f.getInt(null));
      } else if (f.getType() == short.class) {
        emit(c, name, "(short)(" + name + ")", f.getShort(null));
      } else if (f.getType() == long.class) {
        emit(c, name, "(long)(" + name + ")", f.getLong(null));
      }
    }
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + command);
    assertEquals(0, p.exitValue(), () -> command + " failed:\n" + out);
    return out;
  }

  @Test
  void everyLayoutAndConstantMatchesTheHeaders() {
    List<String> mismatches = new ArrayList<>();
    expected.forEach((key, ours) -> {
      if (!ours.equals(fromC.get(key))) {
        mismatches.add(key + ": ours " + ours + ", headers " + fromC.get(key));
      }
    });
    assertEquals(List.of(), mismatches);
    assertTrue(expected.size() > 70, "checked only " + expected.size() + " numbers");
  }

  @Test
  void sockaddrVmBytesAreWhatTheKernelReads() {
    try (Arena arena = Arena.ofConfined()) {
      byte[] bytes = GuestLibc.sockaddrVm(arena, 3, 1024).toArray(ValueLayout.JAVA_BYTE);
      // family AF_VSOCK, reserved, port 1024, cid 3, flags, zero[3]: little-endian x86-64.
      assertArrayEquals(new byte[] {40, 0, 0, 0, 0, 4, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0}, bytes);
    }
  }
}

package run.cocoon.agent.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.core.JsonFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.jar.JarOutputStream;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The image builder: module set, ldd parsing, reproducibility, contents, cache hits. */
class GuestImageBuilderTest {
  @TempDir Path dir;

  private static Path jarOf(Class<?> c) throws URISyntaxException {
    return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  /** The agent's own code: the agent, its protocol, the container library. */
  private static List<String> agentJars() throws URISyntaxException {
    return List.of(jarOf(run.cocoon.agent.AgentMain.class).toString(),
        jarOf(run.cocoon.agent.protocol.Codec.class).toString(),
        jarOf(run.cocoon.container.Container.class).toString());
  }

  @Test
  void theModuleListCoversWhatJdepsSaysTheAgentNeeds() throws Exception {
    StringWriter out = new StringWriter();
    List<String> args = new ArrayList<>(List.of("--multi-release", "25",
        "--ignore-missing-deps", "--print-module-deps"));
    args.addAll(agentJars());
    int rc = ToolProvider.findFirst("jdeps").orElseThrow().run(new PrintWriter(out),
        new PrintWriter(out), args.toArray(String[]::new));
    assertEquals(0, rc, out.toString());
    Set<String> needed = Set.of(out.toString().strip().split(","));
    assertTrue(ImageLayout.MODULES.containsAll(needed), "jdeps on the agent: " + needed);
  }

  @Test
  void jacksonNeedsNothingBeyondTheModuleListButItsOptionalModules() throws Exception {
    // Jackson's code touches java.sql (date types), java.desktop (java.beans annotations) and
    // java.xml (DOM nodes) only when they are present: "requires static" in its descriptors.
    // Anything else it referenced would fail in the guest.
    Set<String> optional = Set.of("java.sql", "java.desktop", "java.xml");
    StringWriter out = new StringWriter();
    List<String> args = new ArrayList<>(List.of("--multi-release", "25",
        "--ignore-missing-deps", "--print-module-deps"));
    args.addAll(agentJars());
    args.addAll(List.of(jarOf(JsonFactory.class).toString(),
        jarOf(com.fasterxml.jackson.databind.ObjectMapper.class).toString(),
        jarOf(com.fasterxml.jackson.annotation.JsonProperty.class).toString()));
    int rc = ToolProvider.findFirst("jdeps").orElseThrow().run(new PrintWriter(out),
        new PrintWriter(out), args.toArray(String[]::new));
    assertEquals(0, rc, out.toString());
    for (String module : out.toString().strip().split(",")) {
      assertTrue(ImageLayout.MODULES.contains(module) || optional.contains(module),
          "jackson needs " + module);
    }
    for (String module : optional) {
      ModuleDescriptor databind = ModuleFinder.of(jarOf(com.fasterxml.jackson.databind.ObjectMapper.class))
          .findAll().iterator().next().descriptor();
      databind.requires().stream().filter(r -> r.name().equals(module)).forEach(r -> assertTrue(
          r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC), module + " is not optional"));
    }
  }

  @Test
  void lddOutputIsParsed() {
    String ldd = """
        /opt/jre/lib/libnet.so:
        \tlinux-vdso.so.1 (0x00007ffd)
        \tlibjava.so => /opt/jre/lib/libjava.so (0x00007f)
        \tlibjvm.so => not found
        \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
        \t/lib64/ld-linux-x86-64.so.2 (0x00007f)
        """;
    assertEquals(Set.of(Path.of("/opt/jre/lib/libjava.so"), Path.of("/lib/x86_64-linux-gnu/libc.so.6"),
        Path.of("/lib64/ld-linux-x86-64.so.2")), SharedLibraries.parse(ldd));
  }

  @Test
  void extraFilesMustStayInsideTheImage() {
    assertEquals(new GuestImageBuilder.ExtraFile(Path.of("/x/helper"), "usr/libexec/h", 0700),
        GuestImageBuilder.parseExtra("/x/helper=usr/libexec/h:700"));
    for (String bad : List.of("/x=/etc/passwd", "/x=../up", "/x=")) {
      try {
        GuestImageBuilder.parseExtra(bad);
        throw new AssertionError("accepted " + bad);
      } catch (IllegalArgumentException expected) {
        // refused
      }
    }
  }

  @Test
  void permissionBitsRoundTrip() {
    for (int mode : new int[] {0755, 0644, 0700, 0, 0777, 0640}) {
      assertEquals(mode, FileModes.mode(FileModes.permissions(mode)));
    }
  }

  /** Two uncached builds of the same inputs (without the AOT cache) are byte-identical. */
  @Test
  @Tag("slow")
  void theSameInputsGiveTheSameBytesAndASecondBuildIsACacheHit() throws Exception {
    Path busybox = Path.of("/bin/busybox");
    assumeTrue(Files.isExecutable(busybox), "busybox-static is not installed");
    Path agentJar = dir.resolve("agent.jar");
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(agentJar))) {
      jar.setComment("test agent");
    }
    Path extra = Files.writeString(dir.resolve("helper"), "#!/bin/sh\n");
    GuestImageBuilder.Spec spec = new GuestImageBuilder.Spec(Path.of(System.getProperty("java.home")),
        List.of(agentJar, jarOf(JsonFactory.class)), busybox,
        List.of(new GuestImageBuilder.ExtraFile(extra, "usr/libexec/cocoon/helper", 0700)),
        GuestImageBuilder.Compression.ZSTD, false);

    GuestImageBuilder.Image first = GuestImageBuilder.build(spec, dir.resolve("cache1"));
    GuestImageBuilder.Image second = GuestImageBuilder.build(spec, dir.resolve("cache2"));
    assertFalse(first.cached());
    assertEquals(first.key(), second.key());
    assertTrue(Arrays.equals(Files.readAllBytes(first.file()), Files.readAllBytes(second.file())),
        "two builds of the same inputs differ");

    GuestImageBuilder.Image again = GuestImageBuilder.build(spec, dir.resolve("cache1"));
    assertTrue(again.cached());
    assertEquals(first.file(), again.file());

    List<String> contents = Files.readAllLines(first.directory().resolve("contents.txt"));
    for (String expected : List.of("init 755", "bin/busybox 755", "bin/sh -> busybox",
        "dev/console 5:1", "usr/lib/jvm/bin/java 755", "usr/lib/jvm/lib/modules 644",
        "usr/lib/jvm/lib/server/libjvm.so", "lib/x86_64-linux-gnu/libc.so.6",
        "lib64/ld-linux-x86-64.so.2", "usr/lib/cocoon/lib/agent.jar 644",
        "usr/lib/cocoon/jvm.args 644", "usr/libexec/cocoon/helper 700", "etc/passwd")) {
      assertTrue(contents.stream().anyMatch(l -> l.contains(expected)),
          expected + " missing from\n" + String.join("\n", contents));
    }
    assertFalse(contents.stream().anyMatch(l -> l.contains("agent.aot")));

    GuestImageBuilder.Spec other = new GuestImageBuilder.Spec(spec.jdk(), List.of(agentJar),
        busybox, List.of(), GuestImageBuilder.Compression.ZSTD, false);
    assertNotEquals(first.key(), ImageKey.of(other));
  }
}

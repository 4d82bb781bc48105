package run.cocoon.agent.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/** The image's cache key: SHA-256 over every input of a build. */
final class ImageKey {
  private ImageKey() {}

  /** SHA-256 over every input, as 64 hex digits. */
  static String of(GuestImageBuilder.Spec spec) throws IOException {
    MessageDigest d = sha256();
    line(d, "recipe " + ImageLayout.RECIPE);
    line(d, "modules " + ImageLayout.MODULES + " jlink " + ImageLayout.JLINK_OPTIONS + " jvm "
        + ImageLayout.JVM_FLAGS);
    line(d, "init " + ImageLayout.INIT);
    line(d, "compression " + spec.compression() + " aot " + spec.aotCache());
    // The JDK is identified by its build (release) and its class and VM images.
    for (String f : List.of("release", "lib/modules", "lib/server/libjvm.so")) {
      line(d, "jdk " + f + " " + hash(spec.jdk().resolve(f)));
    }
    for (Path jar : spec.classpath()) {
      line(d, "jar " + jar.getFileName() + " " + hash(jar));
    }
    line(d, "busybox " + hash(spec.busybox()));
    for (GuestImageBuilder.ExtraFile e : spec.extras()) {
      line(d, "extra " + e.guestPath() + " " + Integer.toOctalString(e.permissions()) + " "
          + hash(e.source()));
    }
    // Host libraries of every native file of the JDK: a superset of what the jlink'd JRE needs,
    // known without running jlink, so that a cache hit costs no more than hashing.
    for (Path lib : SharedLibraries.of(nativeFiles(spec.jdk()), spec.jdk())) {
      line(d, "hostlib " + lib + " " + hash(lib));
    }
    return HexFormat.of().formatHex(d.digest());
  }

  /** bin/java and every shared object under lib/ of a Java home. */
  static List<Path> nativeFiles(Path javaHome) throws IOException {
    List<Path> files = new ArrayList<>();
    files.add(javaHome.resolve("bin/java"));
    files.add(javaHome.resolve("lib/jspawnhelper"));
    try (Stream<Path> walk = Files.walk(javaHome.resolve("lib"))) {
      walk.filter(p -> p.getFileName().toString().endsWith(".so")).sorted().forEach(files::add);
    }
    return files.stream().filter(Files::isRegularFile).toList();
  }

  private static void line(MessageDigest d, String s) {
    d.update((s + "\n").getBytes(StandardCharsets.UTF_8));
  }

  static String hash(Path file) throws IOException {
    MessageDigest d = sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      int n;
      while ((n = in.read(buffer)) > 0) {
        d.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

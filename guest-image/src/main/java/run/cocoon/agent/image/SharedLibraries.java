package run.cocoon.agent.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/** The host's shared libraries that ELF files load, as {@code ldd} resolves them. */
final class SharedLibraries {
  private static final long LDD_SECONDS = 120;

  private SharedLibraries() {}

  /**
   * The libraries (including the dynamic loader) that {@code elfFiles} need, outside
   * {@code ownDirectory} (the JRE's own libraries are found there at run time, whatever ldd says).
   */
  static Set<Path> of(List<Path> elfFiles, Path ownDirectory) throws IOException {
    List<String> command = new ArrayList<>(List.of("ldd"));
    elfFiles.forEach(p -> command.add(p.toString()));
    Process ldd = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!ldd.waitFor(LDD_SECONDS, TimeUnit.SECONDS)) {
        ldd.destroyForcibly();
        throw new IOException("ldd did not finish in " + LDD_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running ldd", e);
    }
    // ldd exits 1 when one of many files is not dynamic; the others are still listed.
    Set<Path> libraries = new TreeSet<>();
    for (Path p : parse(out)) {
      if (!p.normalize().startsWith(ownDirectory.normalize())) {
        libraries.add(p);
      }
    }
    return libraries;
  }

  /**
   * Absolute library paths in ldd's output: {@code name => /path (0x...)} and the loader's
   * {@code /path (0x...)}; unresolved ({@code not found}) and virtual ({@code linux-vdso}) ones
   * are skipped.
   */
  static Set<Path> parse(String lddOutput) {
    Set<Path> paths = new TreeSet<>();
    for (String raw : lddOutput.split("\n")) {
      String line = raw.strip();
      int arrow = line.indexOf("=> ");
      String rest = arrow >= 0 ? line.substring(arrow + 3) : line;
      if (!rest.startsWith("/") || !raw.startsWith("\t")) {
        continue;
      }
      int paren = rest.indexOf(" (");
      paths.add(Path.of(paren < 0 ? rest : rest.substring(0, paren)));
    }
    return paths;
  }
}

package run.cocoon.shim.image.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import run.cocoon.shim.image.Descriptor;
import run.cocoon.shim.image.Digest;
import run.cocoon.shim.image.Image;
import run.cocoon.shim.image.ImageImporter;
import run.cocoon.shim.image.ImageStore;
import run.cocoon.shim.image.LayerUnpacker;

/**
 * Unpack throughput of cocoon's layer unpacker against umoci and GNU tar on the same image in the
 * same run. The image has two gzip layers made from host trees: a JDK (few large files) and
 * /usr/share/doc (thousands of small ones). Rounds alternate the three unpackers so background
 * load hits all alike; medians and their ratios are printed.
 *
 * <p>Usage: UnpackBench [ROUNDS] [WORK_DIR]
 */
public final class UnpackBench {
  private UnpackBench() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Path work = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("cocoon-unpack-bench");
    Files.createDirectories(work);
    List<Path> sources = List.of(Path.of(System.getProperty("java.home")), Path.of("/usr/share/doc"));
    try {
      Path layout = buildLayout(work.resolve("layout"), sources);
      ImageStore store = ImageStore.open(work.resolve("store"));
      Image im = new ImageImporter(store).importPath(layout, "bench/unpack:1").getFirst();
      long bytes = uncompressedBytes(store, im);
      boolean umoci = Files.isExecutable(Path.of("/usr/bin/umoci"));
      System.out.printf(Locale.ROOT, "image: %d layers, %.1f MiB compressed, %.1f MiB unpacked%n",
          im.manifest().layers().size(), im.storedSize() / 1048576.0, bytes / 1048576.0);
      if (!umoci) {
        System.out.println("umoci not installed: comparing with GNU tar only");
      }
      System.out.println("warm-up round (not counted)...");
      ours(store, im, work.resolve("out"));
      List<Double> o = new ArrayList<>();
      List<Double> u = new ArrayList<>();
      List<Double> t = new ArrayList<>();
      for (int r = 1; r <= rounds; r++) {
        double so = ours(store, im, work.resolve("out"));
        double su = umoci ? umoci(layout, work.resolve("out")) : Double.NaN;
        double st = tar(store, im, work.resolve("out"));
        o.add(so);
        u.add(su);
        t.add(st);
        System.out.printf(Locale.ROOT, "round %d: cocoon %.2f s, umoci %.2f s, tar %.2f s%n", r, so, su, st);
      }
      double mo = median(o);
      double mu = median(u);
      double mt = median(t);
      double mib = bytes / 1048576.0;
      System.out.printf(Locale.ROOT, "cocoon unpack: %.1f MiB/s%n", mib / mo);
      if (umoci) {
        System.out.printf(Locale.ROOT, "umoci unpack:  %.1f MiB/s%n", mib / mu);
      }
      System.out.printf(Locale.ROOT, "tar -xzf:      %.1f MiB/s%n", mib / mt);
      if (umoci) {
        System.out.printf(Locale.ROOT, "ratio cocoon/umoci throughput: %.2f%n", mu / mo);
      }
      System.out.printf(Locale.ROOT, "ratio cocoon/tar throughput:   %.2f%n", mt / mo);
    } finally {
      run(List.of("rm", "-rf", work.toString()));
    }
  }

  private static double median(List<Double> v) {
    List<Double> s = v.stream().sorted().toList();
    return s.get(s.size() / 2);
  }

  /** An OCI layout with one gzip layer per source tree, made with tar and gzip. */
  private static Path buildLayout(Path dir, List<Path> sources) throws Exception {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    StringBuilder layers = new StringBuilder();
    StringBuilder diffIds = new StringBuilder();
    for (Path src : sources) {
      Path tarFile = dir.resolve("layer.tar");
      run(List.of("tar", "--sort=name", "-C", src.getParent().toString(), "-cf", tarFile.toString(),
          src.getFileName().toString()));
      Digest diff = Digest.ofFile(tarFile);
      run(List.of("gzip", "-6", "-n", tarFile.toString()));
      Path gz = dir.resolve("layer.tar.gz");
      Digest d = Digest.ofFile(gz);
      long size = Files.size(gz);
      Files.move(gz, dir.resolve("blobs/sha256/" + d.hex()));
      layers.append(layers.isEmpty() ? "" : ",").append(String.format(Locale.ROOT,
          "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%d}", d, size));
      diffIds.append(diffIds.isEmpty() ? "" : ",").append('"').append(diff).append('"');
    }
    byte[] cfg = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\","
        + "\"diff_ids\":[" + diffIds + "]}}").getBytes();
    Digest cd = write(dir, cfg);
    byte[] man = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + cd
        + "\",\"size\":" + cfg.length + "},\"layers\":[" + layers + "]}").getBytes();
    Digest md = write(dir, man);
    Files.writeString(dir.resolve("index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
        + "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" + md + "\",\"size\":" + man.length
        + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"bench\"}}]}");
    return dir;
  }

  private static Digest write(Path dir, byte[] b) throws IOException {
    Digest d = Digest.of(b);
    Files.write(dir.resolve("blobs/sha256/" + d.hex()), b);
    return d;
  }

  private static long uncompressedBytes(ImageStore store, Image im) throws IOException {
    long n = 0;
    for (Descriptor l : im.manifest().layers()) {
      try (InputStream in = new java.util.zip.GZIPInputStream(Files.newInputStream(store.blobPath(l.digest())))) {
        n += in.transferTo(OutputStream.nullOutputStream());
      }
    }
    return n;
  }

  private static double ours(ImageStore store, Image im, Path out) throws Exception {
    fresh(out);
    long t0 = System.nanoTime();
    LayerUnpacker u = new LayerUnpacker(out, LayerUnpacker.Options.forCurrentUser());
    for (int i = 0; i < im.manifest().layers().size(); i++) {
      Descriptor l = im.manifest().layers().get(i);
      try (InputStream in = Files.newInputStream(store.blobPath(l.digest()))) {
        u.apply(in, l, im.config().diffIds().get(i));
      }
    }
    u.finish();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double umoci(Path layout, Path out) throws Exception {
    fresh(out);
    run(List.of("rm", "-rf", out.toString()));
    long t0 = System.nanoTime();
    run(List.of("umoci", "unpack", "--image", layout + ":bench", out.toString()));
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double tar(ImageStore store, Image im, Path out) throws Exception {
    fresh(out);
    long t0 = System.nanoTime();
    for (Descriptor l : im.manifest().layers()) {
      run(List.of("tar", "-xzpf", store.blobPath(l.digest()).toString(), "-C", out.toString()));
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /** An empty output directory, with earlier writes flushed so they do not bill the next run. */
  private static void fresh(Path out) throws Exception {
    run(List.of("rm", "-rf", out.toString()));
    Files.createDirectories(out);
    run(List.of("sync"));
  }

  private static void run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] o = p.getInputStream().readAllBytes();
    if (p.waitFor() != 0) {
      throw new IOException(cmd + " failed: " + new String(o));
    }
  }
}

package run.cocoon.shim.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import run.cocoon.shim.image.DefaultImage;
import run.cocoon.shim.image.Descriptor;
import run.cocoon.shim.image.Image;
import run.cocoon.shim.image.ImageException;
import run.cocoon.shim.image.ImageImporter;
import run.cocoon.shim.image.ImageStore;
import run.cocoon.shim.image.Progress;
import run.cocoon.shim.image.Puller;

/** The image subcommands: pull, import, images, rmi, inspect. */
public final class ImageCommands {
  private ImageCommands() {}

  /** Every image command class, in help order, for Main.SUBCOMMANDS. */
  public static List<Object> all() {
    return List.of(new Pull(), new Import(), new Images(), new Rmi(), new Inspect());
  }

  enum Format {
    text,
    json
  }

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Runs an image operation, turning its failures into the CLI's exit codes. */
  static int guard(Callable<Integer> body) throws Exception {
    try {
      return body.call();
    } catch (ImageException e) {
      int code =
          switch (e.kind()) {
            case BAD_INPUT, NOT_FOUND -> ExitCodes.BAD_INPUT;
            case UNAVAILABLE -> ExitCodes.UNAVAILABLE;
            case FAILURE -> ExitCodes.FAILURE;
          };
      throw new CliException(code, e.getMessage(), e);
    }
  }

  static void printJson(Object o) throws Exception {
    System.out.println(JSON.writeValueAsString(o));
  }

  static Map<String, Object> summary(Image im) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", im.name());
    m.put("digest", im.digest().toString());
    m.put("id", im.configDigest().toString());
    m.put("size", im.storedSize());
    m.put("layers", im.manifest().layers().size());
    return m;
  }

  static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] u = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int i = -1;
    while (v >= 1024 && i < u.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format("%.1f %s", v, u[i]);
  }

  @Command(name = "pull", description = "Downloads an image from an OCI distribution registry.")
  static final class Pull implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF", description = "HOST[:PORT]/NAME[:TAG][@DIGEST]")
    String ref;

    @Option(names = "--plain-http",
        description = "Speak HTTP instead of HTTPS (default only for localhost and 127.0.0.0/8).")
    boolean plainHttp;

    @Option(names = {"-q", "--quiet"}, description = "No progress output.")
    boolean quiet;

    @Option(names = "--format", defaultValue = "text", description = "text or json")
    Format format;

    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        ImageStore store = ImageStore.openDefault();
        Progress p = quiet ? Progress.silent() : Progress.forStderr();
        Image im = new Puller(store, p).pull(ref, plainHttp);
        if (format == Format.json) {
          printJson(summary(im));
        } else {
          System.out.println(im.name() + " " + im.digest());
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "import",
      description = "Imports an OCI image layout (directory or tar) or a docker save archive.")
  static final class Import implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH") Path path;

    @Parameters(index = "1", arity = "0..1", paramLabel = "NAME",
        description = "Name to store it under (default: the names in the archive).")
    String name;

    @Option(names = "--format", defaultValue = "text", description = "text or json")
    Format format;

    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        List<Image> ims = new ImageImporter(ImageStore.openDefault()).importPath(path, name);
        if (format == Format.json) {
          printJson(ims.stream().map(ImageCommands::summary).toList());
        } else {
          ims.forEach(im -> System.out.println(im.name() + " " + im.digest()));
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "images", description = "Lists stored images.",
      subcommands = {EnsureDefault.class})
  static final class Images implements Callable<Integer> {
    @Option(names = "--format", defaultValue = "text", description = "text or json")
    Format format;

    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        List<Image> ims = ImageStore.openDefault().list();
        if (format == Format.json) {
          printJson(ims.stream().map(ImageCommands::summary).toList());
        } else {
          System.out.printf("%-40s %-19s %s%n", "NAME", "DIGEST", "SIZE");
          for (Image im : ims) {
            System.out.printf("%-40s sha256:%s %s%n", im.name(), im.digest().shortHex(),
                human(im.storedSize()));
          }
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "ensure-default",
      description = "Builds the default image (" + DefaultImage.NAME + ") from busybox-static"
          + " if it is not stored yet.")
  static final class EnsureDefault implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        Image im = DefaultImage.ensure(ImageStore.openDefault());
        System.out.println(im.name() + " " + im.digest());
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "rmi", description = "Removes image names, then data no name needs any more.")
  static final class Rmi implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "REF") List<String> refs;

    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        for (String n : ImageStore.openDefault().remove(refs)) {
          System.out.println("removed " + n);
        }
        return ExitCodes.OK;
      });
    }
  }

  @Command(name = "inspect", description = "Shows an image's digest, layers and config.")
  static final class Inspect implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "REF") String ref;

    @Option(names = "--rootfs", description = "Unpack the image (once) and show the directory.")
    boolean rootfs;

    @Option(names = "--disk", description = "Build the ext4 disk (once) and show its path.")
    boolean disk;

    @Option(names = "--format", defaultValue = "text", description = "text or json")
    Format format;

    @Override
    public Integer call() throws Exception {
      return guard(() -> {
        ImageStore store = ImageStore.openDefault();
        Image im = store.resolve(ref);
        Map<String, Object> m = summary(im);
        m.put("mediaType", im.manifest().mediaType());
        m.put("os", im.config().os());
        m.put("architecture", im.config().architecture());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (Descriptor l : im.manifest().layers()) {
          layers.add(Map.of("mediaType", l.mediaType(), "digest", l.digest().toString(),
              "size", l.size()));
        }
        m.put("layers", layers);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("entrypoint", im.config().entrypoint());
        c.put("cmd", im.config().cmd());
        c.put("env", im.config().env());
        c.put("workingDir", im.config().workingDir());
        c.put("user", im.config().user());
        c.put("labels", im.config().labels());
        m.put("config", c);
        if (rootfs || disk) {
          m.put("rootfs", store.rootfsDirectory(im).toString());
        }
        if (disk) {
          m.put("disk", store.rootfsDisk(im).toString());
        }
        if (format == Format.json) {
          printJson(m);
        } else {
          for (var e : m.entrySet()) {
            if (e.getKey().equals("layers")) {
              System.out.println("layers:");
              layers.forEach(l -> System.out.println("  " + l.get("digest") + " "
                  + human((Long) l.get("size")) + " " + l.get("mediaType")));
            } else {
              System.out.println(e.getKey() + ": " + e.getValue());
            }
          }
        }
        return ExitCodes.OK;
      });
    }
  }
}

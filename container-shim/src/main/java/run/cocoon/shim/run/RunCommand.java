package run.cocoon.shim.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import run.cocoon.container.ContainerId;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.OciSpec;
import run.cocoon.shim.lifecycle.ContainerState;
import run.cocoon.shim.lifecycle.ContainerStore;
import run.cocoon.shim.lifecycle.HostLifecycle;
import run.cocoon.shim.lifecycle.Lifecycle;
import run.cocoon.shim.lifecycle.RunRequest;
import run.cocoon.shim.image.DefaultImage;
import run.cocoon.shim.image.Image;
import run.cocoon.shim.image.ImageConfig;
import run.cocoon.shim.image.ImageException;
import run.cocoon.shim.image.ImageStore;

/** {@code cocoon run}: one container in the foreground, its exit status as ours. */
@Command(name = "run", description = "Run a command in a new container.",
    sortOptions = false)
public final class RunCommand implements Callable<Integer> {
  @Option(names = "--isolation", description = "container or vm (default: image label "
      + Lifecycle.ANNOTATION + ", else $" + Settings.ISOLATION_ENV + " or $COCOON_HOME/config.json)")
  String isolation;

  @Option(names = "--cpus", description = "CPU limit, e.g. 1.5") double cpus;

  @Option(names = {"--memory", "-m"}, description = "memory limit, e.g. 256m") String memory;

  @Option(names = {"-e", "--env"}, description = "KEY=VALUE (or KEY: taken from our environment)")
  List<String> env = new ArrayList<>();

  @Option(names = {"-v", "--volume"}, description = "HOST:CONTAINER[:ro]") List<String> volumes = new ArrayList<>();

  @Option(names = {"-w", "--workdir"}) String workdir;

  @Option(names = {"-u", "--user"}, description = "UID[:GID] or a user of the image") String user;

  @Option(names = "--hostname") String hostname;

  @Option(names = "--rm", description = "remove the container when it exits") boolean rm;

  @Option(names = {"-d", "--detach"}, description = "run in the background and print the"
      + " container's id; its output goes to cocoon logs") boolean detach;

  /** Set by {@link DetachedRun} for the process that holds a detached container. */
  @Option(names = "--detached-child", hidden = true) boolean detachedChild;

  @Option(names = {"-i", "--interactive"}, description = "keep stdin open") boolean interactive;

  @Option(names = {"-t", "--tty"}, description = "allocate a pseudo-terminal") boolean tty;

  @Option(names = "--name") String name;

  @Option(names = "--network", description = "none (container isolation) or tap (vm)")
  String network = "none";

  @Option(names = "--security-opt", description = "seccomp=unconfined, or seccomp=PATH (an OCI"
      + " linux.seccomp object); default: the built-in profile") List<String> securityOpts = new ArrayList<>();

  @Parameters(index = "0", paramLabel = "IMAGE") String image;

  @Parameters(index = "1..*", paramLabel = "CMD") List<String> command = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ContainerId id = new ContainerId(name != null ? name : randomId());
    if (detach && !detachedChild) {
      if (tty || interactive) {
        throw new IllegalArgumentException("-t and -i need a container in the foreground;"
            + " a detached container's stdin is /dev/null and its output goes to cocoon logs");
      }
      return DetachedRun.launch(ContainerStore.inHome(ImageStore.defaultRoot()), id,
          spec.commandLine().getParseResult().originalArgs(), name == null);
    }
    Path home = ImageStore.defaultRoot();
    List<RunRequest.Volume> vols = new ArrayList<>();
    for (String v : volumes) {
      vols.add(volume(v));
    }
    RunRequest.Resources res = new RunRequest.Resources(cpus, memory == null ? 0 : bytes(memory));
    if (cpus < 0) {
      throw new IllegalArgumentException("--cpus must be positive");
    }
    if (!network.equals("none") && !network.equals("tap")) {
      throw new IllegalArgumentException("--network must be none or tap");
    }
    ImageStore store = ImageStore.open(home);
    Image im = resolve(store, image);
    ImageConfig ic = im.config();
    String iso = isolation != null ? isolation
        : ic.labels().getOrDefault(Lifecycle.ANNOTATION, Settings.defaultIsolation(home));
    Lifecycle lifecycle = Lifecycle.named(iso);
    if (network.equals("tap") && lifecycle instanceof HostLifecycle) {
      throw new IllegalArgumentException("--network tap needs --isolation=vm");
    }
    lifecycle.checkAvailable();
    Path rootfs = store.rootfsDirectory(im);
    BundleBuilder.Options o = new BundleBuilder.Options(command, env, workdir, user, hostname,
        tty, vols, res, lifecycle.name(), SeccompOption.profile(securityOpts));
    OciSpec oci = BundleBuilder.spec(ic.entrypoint(), ic.cmd(), ic.env(), ic.workingDir(),
        ic.user(), rootfs, o);
    ContainerStore cs = ContainerStore.inHome(home);
    // A detached run's directory was claimed by the command that started this process.
    Path dir = detachedChild ? cs.dir(id) : cs.claim(id);
    Path bundle = dir.resolve(HostLifecycle.BUNDLE);
    ContainerState[] current = {ContainerState.creating(id, lifecycle.name(), bundle,
        bundle.resolve(oci.root().path()), im.name(), oci.process().args(),
        Instant.now().toString(), Map.of(), oci.annotations())};
    ExitStatus st;
    try {
      BundleBuilder.write(bundle, oci);
      cs.save(current[0]);
      // A detached run's stdout is the log already.
      Path log = detachedChild ? null : dir.resolve(ContainerStore.LOG);
      RunRequest req = new RunRequest(id, bundle, oci, dir, rootfs, () -> store.rootfsDisk(im),
          new RunRequest.StdioMode(interactive, tty), res, vols, network, rm, log);
      st = lifecycle.run(req, (pid, start, cgroup, flags) -> {
        current[0] = current[0].withProcess(pid, start, cgroup, flags);
        try {
          cs.save(current[0]);
        } catch (java.io.IOException e) {
          throw new IllegalStateException("cannot record state: " + e, e);
        }
      });
    } catch (RuntimeException e) {
      if (!detachedChild) { // the starting command reports the failure, then removes the state
        cs.remove(id);
      }
      throw e;
    }
    int code = Lifecycle.exitCode(st);
    if (rm) {
      cs.remove(id);
    } else {
      cs.saveExit(current[0], code);
    }
    if (st.oomKilled()) {
      System.err.println("cocoon: container " + id + " was killed by the OOM killer");
    }
    return code;
  }

  static Image resolve(ImageStore store, String ref) {
    try {
      return store.resolve(ref);
    } catch (ImageException e) {
      if (ref.equals("busybox") || ref.equals("busybox:latest") || ref.equals(DefaultImage.NAME)) {
        return DefaultImage.ensure(store);
      }
      throw e;
    }
  }

  static RunRequest.Volume volume(String v) {
    String[] p = v.split(":");
    if (p.length < 2 || p.length > 3 || (p.length == 3 && !p[2].equals("ro") && !p[2].equals("rw"))) {
      throw new IllegalArgumentException("volume '" + v + "' is not HOST:CONTAINER[:ro|rw]");
    }
    Path host = Path.of(p[0]).toAbsolutePath().normalize();
    if (!Files.exists(host)) {
      throw new IllegalArgumentException("volume source " + host + " does not exist");
    }
    if (!p[1].startsWith("/")) {
      throw new IllegalArgumentException("volume destination '" + p[1] + "' must be absolute");
    }
    return new RunRequest.Volume(host, p[1], p.length == 3 && p[2].equals("ro"));
  }

  static long bytes(String s) {
    String t = s.trim().toLowerCase();
    long mult = 1;
    char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
    switch (last) {
      case 'k' -> mult = 1L << 10;
      case 'm' -> mult = 1L << 20;
      case 'g' -> mult = 1L << 30;
      case 'b' -> mult = 1;
      default -> last = 0;
    }
    String num = last == 0 ? t : t.substring(0, t.length() - 1);
    try {
      long v = Long.parseLong(num);
      if (v <= 0 || v > Long.MAX_VALUE / mult) {
        throw new NumberFormatException();
      }
      return v * mult;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size '" + s + "' is not a positive number with k, m or g");
    }
  }

  private static String randomId() {
    byte[] b = new byte[6];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}

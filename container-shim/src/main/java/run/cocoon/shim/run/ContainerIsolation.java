package run.cocoon.shim.run;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import run.cocoon.container.Container;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerRuntime;
import run.cocoon.container.ExitStatus;
import run.cocoon.container.HostMounts;
import run.cocoon.container.HostProcesses;
import run.cocoon.container.SpecValidator;
import run.cocoon.container.Stdio;
import sun.misc.Signal;

/**
 * Isolation by namespaces and cgroups on the host kernel. The rootfs is an overlay: the image's
 * unpacked rootfs as the read-only lower layer, the container's writes in its state directory;
 * it is unmounted when the container ends.
 */
public final class ContainerIsolation implements Isolation {
  private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

  @Override
  public String name() {
    return "container";
  }

  @Override
  public void checkAvailable() {
    ContainerRuntime.findHelper();
  }

  @Override
  public ExitStatus run(RunRequest r, RunHooks hooks) {
    Path rootfs = r.bundle().resolve(r.spec().root().path());
    Path upper = r.stateDir().resolve("upper");
    Path work = r.stateDir().resolve("work");
    try {
      Files.createDirectories(rootfs);
      Files.createDirectories(upper);
      Files.createDirectories(work);
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare " + r.stateDir() + ": " + e, e);
    }
    HostMounts.overlay(r.imageRootfs(), upper, work, rootfs);
    try {
      ContainerConfig cfg = SpecValidator.loadBundle(r.bundle());
      Stdio stdio = r.stdio().tty() ? Stdio.terminal(Terminal.rows(), Terminal.cols()) : Stdio.pipes();
      try (Container c = Container.create(r.id(), cfg, stdio, ContainerRuntime.defaults());
          Terminal.Raw raw = r.stdio().tty() ? Terminal.raw() : null) {
        Map<String, sun.misc.SignalHandler> previous = new LinkedHashMap<>();
        for (String s : FORWARDED) {
          Signal sig = new Signal(s);
          previous.put(s, Signal.handle(sig, x -> c.signal(sig.getNumber())));
        }
        try {
          c.start();
          Map<String, String> cg = new LinkedHashMap<>();
          c.cgroup().directories().forEach((k, v) -> cg.put(k, v.toString()));
          int flags = cfg.unshareFlags();
          hooks.started(c.pid(), HostProcesses.startTime(c.pid()).orElse(0), cg, flags);
          OutputStream log = r.logFile() == null ? null
              : Files.newOutputStream(r.logFile());
          Thread out = pump(c.init().stdout(), System.out, log);
          Thread err = c.init().stderr() == null ? null : pump(c.init().stderr(), System.err, log);
          if (r.stdio().interactive() || r.stdio().tty()) {
            Thread.ofPlatform().daemon().start(() -> copyStdin(c.init().stdin()));
          } else {
            c.init().stdin().close();
          }
          ExitStatus st = c.waitFor();
          out.join();
          if (err != null) {
            err.join();
          }
          if (log != null) {
            log.close();
          }
          return st;
        } finally {
          previous.forEach((s, h) -> Signal.handle(new Signal(s), h));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException(e.toString(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      HostMounts.unmount(rootfs);
    }
  }

  private static Thread pump(InputStream in, OutputStream out, OutputStream log) {
    return Thread.ofPlatform().daemon().start(() -> {
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
          out.flush();
          if (log != null) {
            synchronized (log) {
              log.write(buf, 0, n);
            }
          }
        }
      } catch (IOException ignored) {
        // the container closed its end
      }
    });
  }

  private static void copyStdin(OutputStream to) {
    byte[] buf = new byte[8192];
    try (to) {
      for (int n; (n = System.in.read(buf)) > 0; ) {
        to.write(buf, 0, n);
        to.flush();
      }
    } catch (IOException ignored) {
      // the container closed its stdin or ended
    }
  }
}

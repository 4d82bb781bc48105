package run.cocoon.shim.run;

import java.util.Locale;
import run.cocoon.container.ExitStatus;

/**
 * How a container is isolated from the host: {@code container} (namespaces and cgroups on the
 * host kernel) or {@code vm} (its own microVM). Everything above this interface (image
 * resolution, bundle, state, CLI) is the same for both; {@link RunRequest} carries what either
 * needs.
 */
public interface Isolation {
  /** The name used by --isolation, COCOON_ISOLATION and the run.cocoon.isolation annotation. */
  String name();

  /** Throws {@link IsolationUnavailableException} if this isolation cannot run here. */
  void checkAvailable();

  /**
   * Runs the container in the foreground: stdio attached as the request says, signals forwarded,
   * returns once the container's process has ended and its resources are released.
   */
  ExitStatus run(RunRequest request, RunHooks hooks);

  /** The annotation a bundle or image uses to ask for an isolation. */
  String ANNOTATION = "run.cocoon.isolation";

  static Isolation named(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "container" -> new ContainerIsolation();
      case "vm" -> new VmIsolation();
      default -> throw new IllegalArgumentException(
          "unknown isolation '" + name + "' (expected container or vm)");
    };
  }
}

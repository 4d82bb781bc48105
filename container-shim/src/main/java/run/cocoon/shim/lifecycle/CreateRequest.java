package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import java.util.function.Consumer;
import run.cocoon.container.ContainerConfig;
import run.cocoon.container.ContainerId;
import run.cocoon.container.OciSpec;

/**
 * A container to create from an OCI bundle, for a runc-style front end.
 *
 * @param id the container id
 * @param bundle the bundle directory
 * @param spec its config.json as read
 * @param config the same, validated
 * @param consoleSocket where the pty master goes when {@code process.terminal} (else null)
 * @param debug where debug lines go (the runtime's log)
 */
public record CreateRequest(ContainerId id, Path bundle, OciSpec spec, ContainerConfig config,
    Path consoleSocket, Consumer<String> debug) {}

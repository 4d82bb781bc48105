package run.cocoon.shim.lifecycle;

import java.nio.file.Path;
import run.cocoon.container.OciSpec;

/**
 * One more process in a running container. Its stdio is the caller's fds 0-2, or with
 * {@code process.terminal} a new pty whose master goes to {@code consoleSocket}.
 *
 * @param detach return once it runs (its host pid) rather than when it ends
 */
public record ExecRequest(OciSpec.Process process, Path consoleSocket, boolean detach) {}

package run.cocoon.container.seccomp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The profile {@code cocoon run} applies unless told otherwise, equal in effect to Podman's and
 * Docker's default for a container with the default capabilities: an allow-list of system calls
 * (everything else fails with ENOSYS, as if the kernel lacked it), {@code personality} only for
 * the usual personas, and EPERM for calls that need a capability the container lacks or that no
 * container should make (module loading, kexec, swap, clock setting, bpf, userfaultfd, ...).
 * The data is {@code default-profile.json} next to this class.
 */
public final class DefaultSeccompProfile {
  private static final String RESOURCE = "default-profile.json";

  private DefaultSeccompProfile() {}

  /** A fresh copy of the profile as the JSON of {@code linux.seccomp}. */
  public static JsonNode json() {
    try (InputStream in = DefaultSeccompProfile.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + RESOURCE);
      }
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

package run.cocoon.shim.lifecycle;

import java.util.Locale;

/** Where a container is in its life, with the OCI runtime spec's names for the states. */
public enum Status {
  /** Create has not recorded a process yet (or was killed before it did). */
  CREATING,
  /** The container exists and waits for start. */
  CREATED,
  /** Its process runs. */
  RUNNING,
  /** Its process has ended. */
  STOPPED;

  /** The OCI name: creating, created, running, stopped. */
  public String oci() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Created or running: something holds resources and can be signalled. */
  public boolean alive() {
    return this == CREATED || this == RUNNING;
  }
}

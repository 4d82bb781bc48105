package run.cocoon.container;

/**
 * The OCI config, bundle or container id was refused. Raised before any side effect: nothing was
 * created, mounted, cloned or written when this is thrown. {@link #field()} names the offending
 * JSON field (e.g. {@code mounts[2].destination}).
 */
public final class InvalidSpecException extends ContainerException {
  private static final long serialVersionUID = 1L;

  private final String field;

  public InvalidSpecException(String field, String problem) {
    super(field + ": " + problem);
    this.field = field;
  }

  public String field() {
    return field;
  }
}

package run.cocoon.container.seccomp;

/**
 * A compiled seccomp filter: the {@code SECCOMP_FILTER_FLAG_*} bits to install it with and the
 * program as {@code struct sock_filter} values packed into longs (see {@link BpfAssembler}).
 */
public record SeccompFilter(int flags, long[] program) {
  public SeccompFilter {
    program = program.clone();
  }

  @Override
  public long[] program() {
    return program.clone();
  }

  public int length() {
    return program.length;
  }
}

package run.cocoon.container.seccomp;

import java.util.Arrays;

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

  @Override
  public boolean equals(Object o) {
    return o instanceof SeccompFilter f && f.flags == flags && Arrays.equals(f.program, program);
  }

  @Override
  public int hashCode() {
    return 31 * flags + Arrays.hashCode(program);
  }

  @Override
  public String toString() {
    return "SeccompFilter[flags=" + flags + ", " + program.length + " instructions]";
  }
}

/*
 * Test-only reference: builds a filter with libseccomp from simple rule lines on stdin and
 * writes its BPF program (struct sock_filter[]) to stdout with seccomp_export_bpf.
 *
 *   default RET            the default action's filter return value
 *   badarch RET            the action for an architecture not in the filter
 *   arch NAME              add an architecture (x86, x32); x86_64 is always there
 *   rule RET NAME N [INDEX OP VALUE VALUETWO]*N
 *                          OP is libseccomp's enum scmp_compare (1 NE .. 7 MASKED_EQ)
 *
 * A name no architecture of the filter knows is skipped, as is a rule whose action is the
 * default (libseccomp refuses those); any other libseccomp error fails the program.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  char word[64];
  uint32_t def, badarch;
  if (scanf("%63s %u", word, &def) != 2 || strcmp(word, "default") != 0) return 2;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return 3;
  while (scanf("%63s", word) == 1) {
    int rc = 0;
    if (strcmp(word, "badarch") == 0) {
      if (scanf("%u", &badarch) != 1) return 2;
      rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badarch);
    } else if (strcmp(word, "arch") == 0) {
      char name[16];
      if (scanf("%15s", name) != 1) return 2;
      rc = seccomp_arch_add(ctx, seccomp_arch_resolve_name(name));
    } else if (strcmp(word, "rule") == 0) {
      uint32_t ret;
      char name[64];
      unsigned n;
      if (scanf("%u %63s %u", &ret, name, &n) != 3 || n > 6) return 2;
      struct scmp_arg_cmp args[6];
      for (unsigned i = 0; i < n; i++) {
        unsigned index, op;
        unsigned long long a, b;
        if (scanf("%u %u %llu %llu", &index, &op, &a, &b) != 4) return 2;
        args[i] = (struct scmp_arg_cmp){index, (enum scmp_compare)op, a, b};
      }
      int nr = seccomp_syscall_resolve_name(name);
      if (nr == __NR_SCMP_ERROR || ret == def) continue;
      rc = seccomp_rule_add_array(ctx, ret, nr, n, args);
    } else {
      return 2;
    }
    if (rc < 0) {
      fprintf(stderr, "libseccomp: %s: %s\n", word, strerror(-rc));
      return 4;
    }
  }
  if (seccomp_export_bpf(ctx, 1) < 0) return 5;
  seccomp_release(ctx);
  return 0;
}

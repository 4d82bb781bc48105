/*
 * Baseline for the KVM exit round-trip benchmark: the same guest as ExitRoundTripBench (a
 * real-mode loop of "out 0x10, al; jmp back"), driven from C. Prints nanoseconds per exit.
 * Usage: exit_roundtrip WARMUP_EXITS MEASURED_EXITS
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define RAM_BYTES 0x10000
#define CODE 0x1000

static void check(int ok, const char *what) {
  if (!ok) {
    perror(what);
    exit(2);
  }
}

int main(int argc, char **argv) {
  long warmup = argc > 1 ? atol(argv[1]) : 20000;
  long measured = argc > 2 ? atol(argv[2]) : 200000;
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  check(kvm >= 0, "open /dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  check(vm >= 0, "KVM_CREATE_VM");
  check(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) == 0, "KVM_SET_TSS_ADDR");
  unsigned char *ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  check(ram != MAP_FAILED, "mmap");
  const unsigned char code[] = {0xe6, 0x10, 0xeb, 0xfc}; /* out 0x10, al; jmp -4 */
  memcpy(ram + CODE, code, sizeof code);
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = RAM_BYTES, .userspace_addr = (unsigned long)ram};
  check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) == 0, "KVM_SET_USER_MEMORY_REGION");
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  check(vcpu >= 0, "KVM_CREATE_VCPU");
  int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  check(run != MAP_FAILED, "mmap kvm_run");
  struct kvm_sregs sregs;
  check(ioctl(vcpu, KVM_GET_SREGS, &sregs) == 0, "KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  check(ioctl(vcpu, KVM_SET_SREGS, &sregs) == 0, "KVM_SET_SREGS");
  struct kvm_regs regs = {.rip = CODE, .rflags = 2};
  check(ioctl(vcpu, KVM_SET_REGS, &regs) == 0, "KVM_SET_REGS");

  struct timespec t0, t1;
  for (long i = 0; i < warmup + measured; i++) {
    if (i == warmup) {
      clock_gettime(CLOCK_MONOTONIC, &t0);
    }
    check(ioctl(vcpu, KVM_RUN, 0) == 0, "KVM_RUN");
    if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x10) {
      fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
      return 3;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", ns / measured);
  return 0;
}

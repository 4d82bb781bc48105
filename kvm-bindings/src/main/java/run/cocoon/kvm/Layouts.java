package run.cocoon.kvm;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;
import java.util.List;

/**
 * The KVM UAPI structs (x86_64) as memory layouts, one constant per C struct, field names as in
 * {@code <linux/kvm.h>} and {@code <asm/kvm.h>}, plus the few other kernel and libc structs the
 * bindings pass (TAP setup, poll). The layout test compiles a C program against the installed
 * headers and compares every size and named field offset here with the compiler's.
 */
public final class Layouts {
  private Layouts() {}

  private static MemoryLayout u8(String name) {
    return JAVA_BYTE.withName(name);
  }

  private static MemoryLayout u16(String name) {
    return JAVA_SHORT.withName(name);
  }

  private static MemoryLayout u32(String name) {
    return JAVA_INT.withName(name);
  }

  private static MemoryLayout u64(String name) {
    return JAVA_LONG.withName(name);
  }

  private static MemoryLayout bytes(String name, long count) {
    return sequenceLayout(count, JAVA_BYTE).withName(name);
  }

  /** Byte offset of a (possibly nested) named field. */
  public static long offset(MemoryLayout layout, String... path) {
    PathElement[] elements = new PathElement[path.length];
    for (int i = 0; i < path.length; i++) {
      elements[i] = PathElement.groupElement(path[i]);
    }
    return layout.byteOffset(elements);
  }

  /** struct kvm_regs: the general-purpose registers, in the order of {@link Regs.Register}. */
  public static final StructLayout KVM_REGS = structLayout(
      u64("rax"), u64("rbx"), u64("rcx"), u64("rdx"), u64("rsi"), u64("rdi"), u64("rsp"), u64("rbp"),
      u64("r8"), u64("r9"), u64("r10"), u64("r11"), u64("r12"), u64("r13"), u64("r14"), u64("r15"),
      u64("rip"), u64("rflags")).withName("kvm_regs");

  /** struct kvm_segment. */
  public static final StructLayout KVM_SEGMENT = structLayout(
      u64("base"), u32("limit"), u16("selector"), u8("type"), u8("present"), u8("dpl"), u8("db"),
      u8("s"), u8("l"), u8("g"), u8("avl"), u8("unusable"), u8("padding")).withName("kvm_segment");

  /** struct kvm_dtable. */
  public static final StructLayout KVM_DTABLE = structLayout(
      u64("base"), u16("limit"), sequenceLayout(3, JAVA_SHORT).withName("padding"))
      .withName("kvm_dtable");

  /** Number of 64-bit words in kvm_sregs.interrupt_bitmap ((KVM_NR_INTERRUPTS + 63) / 64). */
  public static final int INTERRUPT_BITMAP_WORDS = 4;

  /** struct kvm_sregs. */
  public static final StructLayout KVM_SREGS = structLayout(
      KVM_SEGMENT.withName("cs"), KVM_SEGMENT.withName("ds"), KVM_SEGMENT.withName("es"),
      KVM_SEGMENT.withName("fs"), KVM_SEGMENT.withName("gs"), KVM_SEGMENT.withName("ss"),
      KVM_SEGMENT.withName("tr"), KVM_SEGMENT.withName("ldt"),
      KVM_DTABLE.withName("gdt"), KVM_DTABLE.withName("idt"),
      u64("cr0"), u64("cr2"), u64("cr3"), u64("cr4"), u64("cr8"), u64("efer"), u64("apic_base"),
      sequenceLayout(INTERRUPT_BITMAP_WORDS, JAVA_LONG).withName("interrupt_bitmap"))
      .withName("kvm_sregs");

  /** struct kvm_fpu. */
  public static final StructLayout KVM_FPU = structLayout(
      bytes("fpr", 128), u16("fcw"), u16("fsw"), u8("ftwx"), u8("pad1"), u16("last_opcode"),
      u64("last_ip"), u64("last_dp"), bytes("xmm", 256), u32("mxcsr"), u32("pad2"))
      .withName("kvm_fpu");

  /** struct kvm_msr_entry. */
  public static final StructLayout KVM_MSR_ENTRY = structLayout(
      u32("index"), u32("reserved"), u64("data")).withName("kvm_msr_entry");

  /** struct kvm_msrs header; entries follow. */
  public static final StructLayout KVM_MSRS = structLayout(u32("nmsrs"), u32("pad"))
      .withName("kvm_msrs");

  /** struct kvm_msr_list header; u32 indices follow. */
  public static final StructLayout KVM_MSR_LIST = structLayout(u32("nmsrs")).withName("kvm_msr_list");

  /** struct kvm_cpuid_entry2. */
  public static final StructLayout KVM_CPUID_ENTRY2 = structLayout(
      u32("function"), u32("index"), u32("flags"), u32("eax"), u32("ebx"), u32("ecx"), u32("edx"),
      sequenceLayout(3, JAVA_INT).withName("padding")).withName("kvm_cpuid_entry2");

  /** struct kvm_cpuid2 header; entries follow. */
  public static final StructLayout KVM_CPUID2 = structLayout(u32("nent"), u32("padding"))
      .withName("kvm_cpuid2");

  /** Size of struct kvm_lapic_state (KVM_APIC_REG_SIZE). */
  public static final int LAPIC_STATE_BYTES = 1024;

  /** struct kvm_lapic_state. */
  public static final StructLayout KVM_LAPIC_STATE = structLayout(bytes("regs", LAPIC_STATE_BYTES))
      .withName("kvm_lapic_state");

  /** struct kvm_mp_state. */
  public static final StructLayout KVM_MP_STATE = structLayout(u32("mp_state")).withName("kvm_mp_state");

  /** struct kvm_userspace_memory_region. */
  public static final StructLayout KVM_USERSPACE_MEMORY_REGION = structLayout(
      u32("slot"), u32("flags"), u64("guest_phys_addr"), u64("memory_size"), u64("userspace_addr"))
      .withName("kvm_userspace_memory_region");

  /** struct kvm_irqfd. */
  public static final StructLayout KVM_IRQFD = structLayout(
      u32("fd"), u32("gsi"), u32("flags"), u32("resamplefd"), bytes("pad", 16)).withName("kvm_irqfd");

  /** struct kvm_ioeventfd. */
  public static final StructLayout KVM_IOEVENTFD = structLayout(
      u64("datamatch"), u64("addr"), u32("len"), u32("fd"), u32("flags"), bytes("pad", 36))
      .withName("kvm_ioeventfd");

  /** struct kvm_irq_level. */
  public static final StructLayout KVM_IRQ_LEVEL = structLayout(u32("irq"), u32("level"))
      .withName("kvm_irq_level");

  /** struct kvm_pit_config. */
  public static final StructLayout KVM_PIT_CONFIG = structLayout(
      u32("flags"), sequenceLayout(15, JAVA_INT).withName("pad")).withName("kvm_pit_config");

  /** struct kvm_clock_data. */
  public static final StructLayout KVM_CLOCK_DATA = structLayout(
      u64("clock"), u32("flags"), u32("pad0"), u64("realtime"), u64("host_tsc"),
      sequenceLayout(4, JAVA_INT).withName("pad")).withName("kvm_clock_data");

  /** Size of struct kvm_xsave's fixed region (the legacy 4 KiB XSAVE area). */
  public static final int XSAVE_BYTES = 4096;

  /** struct kvm_xsave. */
  public static final StructLayout KVM_XSAVE = structLayout(bytes("region", XSAVE_BYTES))
      .withName("kvm_xsave");

  /** KVM_MAX_XCRS. */
  public static final int MAX_XCRS = 16;

  /** struct kvm_xcr. */
  public static final StructLayout KVM_XCR = structLayout(u32("xcr"), u32("reserved"), u64("value"))
      .withName("kvm_xcr");

  /** struct kvm_xcrs. */
  public static final StructLayout KVM_XCRS = structLayout(
      u32("nr_xcrs"), u32("flags"), sequenceLayout(MAX_XCRS, KVM_XCR).withName("xcrs"),
      sequenceLayout(16, JAVA_LONG).withName("padding")).withName("kvm_xcrs");

  /** Size of struct kvm_vcpu_events; the bindings carry it as opaque bytes plus named fields. */
  public static final StructLayout KVM_VCPU_EVENTS = structLayout(
      structLayout(u8("injected"), u8("nr"), u8("has_error_code"), u8("pending"), u32("error_code"))
          .withName("exception"),
      structLayout(u8("injected"), u8("nr"), u8("soft"), u8("shadow")).withName("interrupt"),
      structLayout(u8("injected"), u8("pending"), u8("masked"), u8("pad")).withName("nmi"),
      u32("sipi_vector"), u32("flags"),
      structLayout(u8("smm"), u8("pending"), u8("smm_inside_nmi"), u8("latched_init")).withName("smi"),
      structLayout(u8("pending")).withName("triple_fault"),
      bytes("reserved", 26), u8("exception_has_payload"), u64("exception_payload"))
      .withName("kvm_vcpu_events");

  /** struct kvm_run up to and including the exit union (256 bytes) and the fields after it. */
  public static final StructLayout KVM_RUN = structLayout(
      u8("request_interrupt_window"), u8("immediate_exit"), bytes("padding1", 6),
      u32("exit_reason"), u8("ready_for_interrupt_injection"), u8("if_flag"), u16("flags"),
      u64("cr8"), u64("apic_base"),
      unionLayout(
          structLayout(u64("hardware_exit_reason")).withName("hw"),
          structLayout(u64("hardware_entry_failure_reason"), u32("cpu"), paddingLayout(4))
              .withName("fail_entry"),
          structLayout(u32("exception"), u32("error_code")).withName("ex"),
          structLayout(u8("direction"), u8("size"), u16("port"), u32("count"), u64("data_offset"))
              .withName("io"),
          structLayout(u64("phys_addr"), bytes("data", 8), u32("len"), u8("is_write"), paddingLayout(3))
              .withName("mmio"),
          structLayout(u32("suberror"), u32("ndata"), sequenceLayout(16, JAVA_LONG).withName("data"))
              .withName("internal"),
          structLayout(u32("type"), u32("ndata"), sequenceLayout(16, JAVA_LONG).withName("data"))
              .withName("system_event"),
          bytes("padding", 256)).withName("exit"))
      .withName("kvm_run");

  /**
   * struct ifreq ({@code <linux/if.h>}) as TUNSETIFF uses it: the interface name, then the union
   * of which only {@code ifr_flags} is used; the union's size is that of its largest member
   * (struct ifmap).
   */
  public static final StructLayout IFREQ = structLayout(
      bytes("ifr_name", Tap.IFNAMSIZ), u16("ifr_flags"), paddingLayout(22)).withName("ifreq");

  /** struct pollfd ({@code <poll.h>}). */
  public static final StructLayout POLLFD = structLayout(
      u32("fd"), u16("events"), u16("revents")).withName("pollfd");

  /**
   * struct virtio_net_hdr_v1 ({@code <linux/virtio_net.h>}): the header before every frame on a
   * TAP opened with IFF_VNET_HDR and a header size of its size, and before every virtio-net frame.
   */
  public static final StructLayout VIRTIO_NET_HDR_V1 = structLayout(
      u8("flags"), u8("gso_type"), u16("hdr_len"), u16("gso_size"), u16("csum_start"),
      u16("csum_offset"), u16("num_buffers")).withName("virtio_net_hdr_v1");

  /** Every layout above that mirrors a C struct, for the layout test. */
  public static final List<StructLayout> ALL = List.of(
      KVM_REGS, KVM_SEGMENT, KVM_DTABLE, KVM_SREGS, KVM_FPU, KVM_MSR_ENTRY, KVM_MSRS, KVM_MSR_LIST,
      KVM_CPUID_ENTRY2, KVM_CPUID2, KVM_LAPIC_STATE, KVM_MP_STATE, KVM_USERSPACE_MEMORY_REGION,
      KVM_IRQFD, KVM_IOEVENTFD, KVM_IRQ_LEVEL, KVM_PIT_CONFIG, KVM_CLOCK_DATA, KVM_XSAVE, KVM_XCR,
      KVM_XCRS, KVM_VCPU_EVENTS, KVM_RUN, IFREQ, POLLFD, VIRTIO_NET_HDR_V1);
}

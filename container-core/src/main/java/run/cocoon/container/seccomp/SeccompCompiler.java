package run.cocoon.container.seccomp;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import run.cocoon.container.seccomp.BpfAssembler.Label;

/**
 * Compiles an OCI seccomp profile into a classic BPF program for {@code seccomp(2)}, with
 * libseccomp's meaning: a call of an ABI the profile does not list is killed
 * ({@link #BAD_ARCH_ACTION}), never let through; a name the ABI lacks is skipped; the rules
 * of one call are tried in profile order and the first whose conditions all hold decides;
 * otherwise the default action. Arguments are compared as unsigned 64-bit numbers, one 32-bit
 * half at a time (on the 32-bit ABIs, i386 and x32, the low halves only, as libseccomp does).
 * Anything that cannot be applied exactly as written is a {@link SeccompException}.
 */
public final class SeccompCompiler {
  /** {@code BPF_MAXINSNS}: the kernel refuses longer programs. */
  public static final int MAX_INSTRUCTIONS = 4096;
  /** Conditions in one rule (libseccomp's limit: one per system call argument). */
  public static final int MAX_CONDITIONS_PER_RULE = 6;
  /**
   * Calls tested in one run, and distinct returns after it: a run's jumps must reach its returns
   * (at most {@link BpfAssembler#MAX_CONDITIONAL_OFFSET} ahead) past the other tests, the run's
   * closing jump and the other returns.
   */
  private static final int NUMBERS_PER_RUN = 128;
  private static final int RETURNS_PER_RUN = 64;
  /** The action for a call made through an ABI the profile does not list. */
  public static final SeccompAction BAD_ARCH_ACTION = SeccompAction.SCMP_ACT_KILL_PROCESS;

  /** The {@code SECCOMP_FILTER_FLAG_*} values the runtime passes through. */
  static final Map<String, Integer> FLAGS = Map.of(
      "SECCOMP_FILTER_FLAG_TSYNC", 1,
      "SECCOMP_FILTER_FLAG_LOG", 2,
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4);

  /** {@code offsetof(struct seccomp_data, nr)}, {@code arch} and {@code args}. */
  private static final int NR_OFFSET = 0;
  private static final int ARCH_OFFSET = 4;
  private static final int ARGS_OFFSET = 16;
  /** The number a tracer sets to skip a call. */
  private static final int NO_CALL = -1;

  private SeccompCompiler() {}

  /** One rule with its names resolved away: conditions (all must hold) and the return value. */
  private record Rule(List<Condition> conditions, int returnValue) {}

  private record Condition(int index, Comparison op, long value, long valueTwo) {}

  enum Comparison {
    SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ
  }

  public static SeccompFilter compile(SeccompProfile p) {
    if (present(p.listenerPath()) || present(p.listenerMetadata())) {
      throw new SeccompException("listenerPath, listenerMetadata: seccomp user notification is not"
          + " supported");
    }
    SeccompAction defaultAction = SeccompAction.named(p.defaultAction(), "defaultAction");
    int defaultRet = defaultAction.returnValue(p.defaultErrnoRet(), "defaultErrnoRet");
    int flags = 0;
    for (String f : p.flags()) {
      Integer bit = FLAGS.get(f);
      if (bit == null) {
        throw new SeccompException("flags: '" + f + "' is not supported (supported: "
            + String.join(", ", FLAGS.keySet().stream().sorted().toList()) + ")");
      }
      flags |= bit;
    }
    Set<Architecture> arches = EnumSet.of(Architecture.SCMP_ARCH_X86_64);
    for (int i = 0; i < p.architectures().size(); i++) {
      Architecture.named(p.architectures().get(i), "architectures[" + i + "]").ifPresent(arches::add);
    }
    List<NamedRule> rules = new ArrayList<>();
    for (int i = 0; i < p.syscalls().size(); i++) {
      rules.add(rule(p.syscalls().get(i), "syscalls[" + i + "]"));
    }

    BpfAssembler asm = new BpfAssembler();
    int badArch = BAD_ARCH_ACTION.returnValue(null, "");
    Map<Architecture, Label> entries = new LinkedHashMap<>();
    for (Architecture a : arches) {
      entries.put(a, new Label());
    }
    asm.load(ARCH_OFFSET);
    farJumpIfEqual(asm, Architecture.AUDIT_ARCH_X86_64, entries.get(Architecture.SCMP_ARCH_X86_64));
    if (arches.contains(Architecture.SCMP_ARCH_X86)) {
      farJumpIfEqual(asm, Architecture.AUDIT_ARCH_I386, entries.get(Architecture.SCMP_ARCH_X86));
    }
    asm.ret(badArch);
    for (Map.Entry<Architecture, Label> e : entries.entrySet()) {
      Architecture a = e.getKey();
      asm.bind(e.getValue());
      asm.load(NR_OFFSET);
      if (a == Architecture.SCMP_ARCH_X86_64) {
        // x32 shares x86-64's audit arch; only the number's bit tells the two ABIs apart. -1 is
        // no call (a tracer skipping one) and, as in libseccomp, gets the default action.
        Label x32 = entries.get(Architecture.SCMP_ARCH_X32);
        Label highNumber = new Label();
        Label isX32 = new Label();
        Label native64 = new Label();
        asm.jump(BpfAssembler.JMP_JGE_K, Architecture.X32_SYSCALL_BIT, highNumber, native64);
        asm.bind(highNumber);
        asm.jump(BpfAssembler.JMP_JEQ_K, NO_CALL, native64, isX32);
        asm.bind(isX32);
        if (x32 == null) {
          asm.ret(badArch);
        } else {
          asm.jumpAlways(x32);
        }
        asm.bind(native64);
      }
      dispatch(asm, a, rules, defaultRet);
    }
    if (asm.size() > MAX_INSTRUCTIONS) {
      throw new SeccompException("compiles to " + asm.size() + " BPF instructions, more than"
          + " the kernel's BPF_MAXINSNS (" + MAX_INSTRUCTIONS + ")");
    }
    return new SeccompFilter(flags, asm.assemble());
  }

  /** For each call this ABI knows, its rules in profile order, then the default. */
  private static void dispatch(BpfAssembler asm, Architecture a, List<NamedRule> rules,
      int defaultRet) {
    Map<Integer, List<Rule>> byNumber = new LinkedHashMap<>();
    for (NamedRule r : rules) {
      for (String name : r.names()) {
        OptionalInt nr = a.table().number(name);
        if (nr.isPresent()) {
          List<Rule> list = byNumber.computeIfAbsent(nr.getAsInt(), k -> new ArrayList<>());
          if (!list.contains(r.rule())) { // an identical rule adds nothing
            list.add(r.rule());
          }
        }
      }
    }
    // Calls whose first rule has no conditions are decided by their number alone: one jump
    // each to a return shared by a run of them (runs stay within a conditional jump's reach).
    Map<Integer, Integer> byNumberOnly = new LinkedHashMap<>();
    for (Map.Entry<Integer, List<Rule>> e : byNumber.entrySet()) {
      Rule first = e.getValue().getFirst();
      if (first.conditions().isEmpty()) {
        byNumberOnly.put(e.getKey(), first.returnValue());
      } else {
        withConditions(asm, a, e.getKey(), e.getValue(), defaultRet);
      }
    }
    Map<Integer, Label> returns = new LinkedHashMap<>();
    int tests = 0;
    for (Map.Entry<Integer, Integer> e : byNumberOnly.entrySet()) {
      boolean newReturn = !returns.containsKey(e.getValue());
      if (tests == NUMBERS_PER_RUN || newReturn && returns.size() == RETURNS_PER_RUN) {
        closeRun(asm, returns);
        tests = 0;
      }
      Label ret = returns.computeIfAbsent(e.getValue(), v -> new Label());
      asm.jump(BpfAssembler.JMP_JEQ_K, e.getKey(), ret, null);
      tests++;
    }
    closeRun(asm, returns);
    asm.ret(defaultRet);
  }

  /** Ends a run of number tests: a jump past its returns, then the returns. */
  private static void closeRun(BpfAssembler asm, Map<Integer, Label> returns) {
    Label after = new Label();
    asm.jumpAlways(after);
    for (Map.Entry<Integer, Label> r : returns.entrySet()) {
      asm.bind(r.getValue());
      asm.ret(r.getKey());
    }
    asm.bind(after);
    returns.clear();
  }

  /** One call's rules in order, each a run of conditions; none holds: the default. */
  private static void withConditions(BpfAssembler asm, Architecture a, int nr, List<Rule> rules,
      int defaultRet) {
    Label body = new Label();
    Label next = new Label();
    asm.jump(BpfAssembler.JMP_JEQ_K, nr, body, null);
    asm.jumpAlways(next);
    asm.bind(body);
    for (Rule r : rules) {
      if (r.conditions().isEmpty()) {
        asm.ret(r.returnValue());
        break; // later rules of this call are never reached
      }
      Label fail = new Label();
      for (Condition c : r.conditions()) {
        if (a.wideArguments) {
          condition(asm, c, fail);
        } else {
          lowHalfCondition(asm, c, fail);
        }
      }
      asm.ret(r.returnValue());
      asm.bind(fail);
    }
    asm.ret(defaultRet);
    asm.bind(next); // reached with the call's number still in A
  }

  /** Falls through when the condition holds, jumps to {@code fail} when it does not. */
  private static void condition(BpfAssembler asm, Condition c, Label fail) {
    int hiOffset = ARGS_OFFSET + 8 * c.index() + 4; // seccomp_data is little-endian
    int loOffset = ARGS_OFFSET + 8 * c.index();
    int vHi = (int) (c.value() >>> 32);
    int vLo = (int) c.value();
    Label pass = new Label();
    Label lowHalf = new Label();
    switch (c.op()) {
      case SCMP_CMP_EQ -> {
        asm.load(hiOffset);
        asm.jump(BpfAssembler.JMP_JEQ_K, vHi, null, fail);
        asm.load(loOffset);
        asm.jump(BpfAssembler.JMP_JEQ_K, vLo, null, fail);
      }
      case SCMP_CMP_NE -> {
        asm.load(hiOffset);
        asm.jump(BpfAssembler.JMP_JEQ_K, vHi, null, pass);
        asm.load(loOffset);
        asm.jump(BpfAssembler.JMP_JEQ_K, vLo, fail, null);
      }
      case SCMP_CMP_GT, SCMP_CMP_GE -> {
        asm.load(hiOffset);
        asm.jump(BpfAssembler.JMP_JGT_K, vHi, pass, null);
        asm.jump(BpfAssembler.JMP_JEQ_K, vHi, lowHalf, fail);
        asm.bind(lowHalf);
        asm.load(loOffset);
        int code = c.op() == Comparison.SCMP_CMP_GT ? BpfAssembler.JMP_JGT_K : BpfAssembler.JMP_JGE_K;
        asm.jump(code, vLo, null, fail);
      }
      case SCMP_CMP_LT, SCMP_CMP_LE -> {
        asm.load(hiOffset);
        asm.jump(BpfAssembler.JMP_JGT_K, vHi, fail, null);
        asm.jump(BpfAssembler.JMP_JEQ_K, vHi, lowHalf, pass);
        asm.bind(lowHalf);
        asm.load(loOffset);
        // a < v is !(a >= v); a <= v is !(a > v)
        int code = c.op() == Comparison.SCMP_CMP_LT ? BpfAssembler.JMP_JGE_K : BpfAssembler.JMP_JGT_K;
        asm.jump(code, vLo, fail, null);
      }
      case SCMP_CMP_MASKED_EQ -> {
        int dHi = (int) (c.valueTwo() >>> 32);
        int dLo = (int) c.valueTwo();
        asm.load(hiOffset);
        asm.and(vHi);
        asm.jump(BpfAssembler.JMP_JEQ_K, dHi, null, fail);
        asm.load(loOffset);
        asm.and(vLo);
        asm.jump(BpfAssembler.JMP_JEQ_K, dLo, null, fail);
      }
    }
    asm.bind(pass);
  }

  /** {@link #condition} for a 32-bit ABI: the low halves of argument and values only. */
  private static void lowHalfCondition(BpfAssembler asm, Condition c, Label fail) {
    asm.load(ARGS_OFFSET + 8 * c.index());
    int v = (int) c.value();
    switch (c.op()) {
      case SCMP_CMP_EQ -> asm.jump(BpfAssembler.JMP_JEQ_K, v, null, fail);
      case SCMP_CMP_NE -> asm.jump(BpfAssembler.JMP_JEQ_K, v, fail, null);
      case SCMP_CMP_GT -> asm.jump(BpfAssembler.JMP_JGT_K, v, null, fail);
      case SCMP_CMP_GE -> asm.jump(BpfAssembler.JMP_JGE_K, v, null, fail);
      case SCMP_CMP_LT -> asm.jump(BpfAssembler.JMP_JGE_K, v, fail, null);
      case SCMP_CMP_LE -> asm.jump(BpfAssembler.JMP_JGT_K, v, fail, null);
      case SCMP_CMP_MASKED_EQ -> {
        asm.and(v);
        asm.jump(BpfAssembler.JMP_JEQ_K, (int) c.valueTwo(), null, fail);
      }
    }
  }

  /** An empty listener path, as some engines write it, names no listener. */
  private static boolean present(String s) {
    return s != null && !s.isEmpty();
  }

  private static void farJumpIfEqual(BpfAssembler asm, int k, Label target) {
    Label no = new Label();
    Label yes = new Label();
    asm.jump(BpfAssembler.JMP_JEQ_K, k, yes, no);
    asm.bind(yes);
    asm.jumpAlways(target);
    asm.bind(no);
  }

  private record NamedRule(List<String> names, Rule rule) {}

  private static NamedRule rule(SeccompProfile.Rule r, String field) {
    if (r == null) {
      throw new SeccompException(field + " is null");
    }
    if (r.names().isEmpty()) {
      throw new SeccompException(field + ".names is empty");
    }
    for (String n : r.names()) {
      if (n == null || n.isEmpty()) {
        throw new SeccompException(field + ".names has an empty name");
      }
    }
    SeccompAction action = SeccompAction.named(r.action(), field + ".action");
    int ret = action.returnValue(r.errnoRet(), field + ".errnoRet");
    if (r.args().size() > MAX_CONDITIONS_PER_RULE) {
      throw new SeccompException(field + ".args has more than MAX_CONDITIONS_PER_RULE ("
          + MAX_CONDITIONS_PER_RULE + ") entries");
    }
    List<Condition> conditions = new ArrayList<>();
    for (int i = 0; i < r.args().size(); i++) {
      conditions.add(condition(r.args().get(i), field + ".args[" + i + "]"));
    }
    return new NamedRule(r.names(), new Rule(List.copyOf(conditions), ret));
  }

  private static Condition condition(SeccompProfile.Arg a, String field) {
    if (a == null) {
      throw new SeccompException(field + " is null");
    }
    if (a.index() == null || a.index() < 0 || a.index() > 5) {
      throw new SeccompException(field + ".index must be 0..5");
    }
    if (a.op() == null) {
      throw new SeccompException(field + ".op is missing");
    }
    Comparison op;
    try {
      op = Comparison.valueOf(a.op());
    } catch (IllegalArgumentException e) {
      throw new SeccompException(field + ".op: unknown operator '" + a.op() + "'");
    }
    long value = u64(a.value(), field + ".value", false);
    long valueTwo = u64(a.valueTwo(), field + ".valueTwo", true);
    if (op != Comparison.SCMP_CMP_MASKED_EQ && valueTwo != 0) {
      throw new SeccompException(field + ".valueTwo is only meaningful with SCMP_CMP_MASKED_EQ");
    }
    return new Condition(a.index(), op, value, valueTwo);
  }

  private static final BigInteger U64_LIMIT = BigInteger.ONE.shiftLeft(64);

  private static long u64(BigInteger v, String field, boolean optional) {
    if (v == null) {
      if (optional) {
        return 0;
      }
      throw new SeccompException(field + " is missing");
    }
    if (v.signum() < 0 || v.compareTo(U64_LIMIT) >= 0) {
      throw new SeccompException(field + " " + v + " is not an unsigned 64-bit number");
    }
    return v.longValue();
  }
}

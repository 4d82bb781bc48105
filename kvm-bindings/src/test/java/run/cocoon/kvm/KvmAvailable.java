package run.cocoon.kvm;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Skips a test class when /dev/kvm cannot be used, printing why. */
public final class KvmAvailable implements ExecutionCondition {
  private static volatile boolean reported;

  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    if (Kvm.isAvailable()) {
      return ConditionEvaluationResult.enabled("/dev/kvm is available");
    }
    String cause = "skipped, KVM unavailable: " + Kvm.unavailabilityCause();
    if (!reported) {
      reported = true;
      System.err.println("[" + context.getDisplayName() + "] " + cause);
    }
    return ConditionEvaluationResult.disabled(cause);
  }
}

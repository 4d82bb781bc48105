package run.cocoon.kvm;

/** One extended control register ({@code struct kvm_xcr}), e.g. XCR0. */
public record Xcr(int xcr, long value) {}

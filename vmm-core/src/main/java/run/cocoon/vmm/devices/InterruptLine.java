package run.cocoon.vmm.devices;

/** An edge-triggered interrupt into the guest (an irqfd in a VM, a counter in tests). */
@FunctionalInterface
public interface InterruptLine {
  void trigger();
}

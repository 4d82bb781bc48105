/**
 * Boot protocol: loads a vmlinux or bzImage and an initrd into guest memory, writes the command
 * line, the zero page or PVH start_info, the boot GDT and page tables, the MP table and ACPI
 * tables, and returns the entry state of vCPU 0. {@link run.cocoon.vmm.boot.BootPlan#prepare}
 * is the one entry point; docs/boot.md describes the protocols and the layout.
 */
package run.cocoon.vmm.boot;

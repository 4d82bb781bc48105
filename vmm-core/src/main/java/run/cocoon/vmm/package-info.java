/** The virtual machine monitor: guest memory, loaders, vCPUs, devices, VM lifecycle. */
package run.cocoon.vmm;

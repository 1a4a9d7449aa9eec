/** The userspace VMM in qemu-kvm's role. */
package kvmkmod.vmm;

package kvmkmod.include;

/** struct descriptor_table (asm/kvm_host.h): a GDTR or IDTR value. */
public final class DescriptorTable {
    public int limit;
    public long base;
}

# hypercall: VMCALL, the guest's call into the hypervisor. RAX holds the
# hypercall number (RBX, RCX, RDX, RSI the arguments) and gets the result.
#   KVM_HC_VAPIC_POLL_IRQ (1)    does nothing but return: RAX = 0
#   0x12345 (no such call)       RAX = -KVM_ENOSYS (-1000 = 0xfffffc18)
# The guest prints EAX after each.
#
# VMCALL always exits (EXIT_REASON_VMCALL): vmx.c handle_vmcall ->
# skip_emulated_instruction, then x86.c kvm_emulate_hypercall, which reads the
# number and arguments from the registers (cut to 32 bits outside long mode)
# and writes the result to RAX. Only the UART I/O and the HLT reach userspace.
# (2.6.33 writes the result to all 64 bits of RAX even outside long mode;
# later kernels cut it to 32 bits, so the upper half of RAX differs.)
#
# Syntax: GNU as, Intel syntax without % prefixes, 16-bit real mode (CPL 0:
# at CPL 3 every hypercall would return -KVM_EPERM). Loaded at guest-physical
# 0x7c00 with CS=0, IP=0x7c00.

        .intel_syntax noprefix
        .include "serial.inc"
        .include "boot.inc"

        .set    KVM_HC_VAPIC_POLL_IRQ, 1
        .set    NO_SUCH_HYPERCALL, 0x12345

        .code16
        .globl _start
_start:
        REAL_MODE_START
        SAY     msg_poll, 16
        mov     eax, KVM_HC_VAPIC_POLL_IRQ
        vmcall
        call    hex16
        SAY     msg_unknown, 16
        mov     eax, NO_SUCH_HYPERCALL
        vmcall
        call    hex16
        SAY     msg_done, 16
        hlt

        SERIAL_ROUTINES 16

msg_poll:    .asciz "vmcall KVM_HC_VAPIC_POLL_IRQ: eax="
msg_unknown: .asciz "\nvmcall 0x12345: eax="
msg_done:    .asciz "\nhypercall: done\n"

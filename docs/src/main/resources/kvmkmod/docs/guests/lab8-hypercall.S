# lab8-hypercall: the guest of lab 8. Real mode at 0x7c00, like the bundled guests: two VMCALLs, each result in
# EAX printed as 8 hex digits and a newline on the debug port 0xe9, then HLT.
#   1. EAX = 0x4b4d (the lab's new hypercall), EBX = 0x1200, ECX = 0x34: the answer should be their sum
#   2. EAX = 99, a number no hypercall has: kvm_emulate_hypercall answers -KVM_ENOSYS (-1000)
# VMCALL always exits in VMX non-root operation (basic exit reason 18), whatever the guest's mode.
# Assembled as the bundled guests are (guests/src/main/resources/guests/build.sh):
#   as --32 -o lab8-hypercall.o lab8-hypercall.S && ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat binary -o lab8-hypercall.bin lab8-hypercall.o
        .code16
        .text
        .globl _start
_start:
        xorw    %ax, %ax
        movw    %ax, %ds
        movw    %ax, %ss
        movw    $0x7000, %sp
        movl    $0x4b4d, %eax                   # 1. the new hypercall: EBX + ECX
        movl    $0x1200, %ebx
        movl    $0x34, %ecx
        vmcall
        call    hex32
        movl    $99, %eax                       # 2. an unknown one
        xorl    %ebx, %ebx
        xorl    %ecx, %ecx
        vmcall
        call    hex32
        hlt

# hex32: EAX as 8 hex digits and a newline on port 0xe9
hex32:  movw    $8, %cx
        movl    %eax, %ebx
        movw    $0xe9, %dx
1:      roll    $4, %ebx
        movl    %ebx, %eax
        andl    $0xf, %eax
        movw    %ax, %si
        movb    digits(%si), %al
        outb    %al, %dx
        loop    1b
        movb    $'\n', %al
        outb    %al, %dx
        ret

digits: .ascii  "0123456789abcdef"

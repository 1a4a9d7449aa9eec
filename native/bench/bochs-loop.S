# The soft CPU benchmark's register loop (add ebx,eax; inc eax; dec ecx; jnz) as a boot sector for
# Bochs: COUNT iterations, then the Bochs shutdown port (0x8900) ends the emulator so the run can be timed.
    .code16
    .text
    .globl _start
_start:
    cli
    xorl %eax, %eax
    xorl %ebx, %ebx
    movl $COUNT, %ecx
1:  addl %eax, %ebx
    incl %eax
    decl %ecx
    jnz 1b
    movw $0x8900, %dx                 # Bochs: writing "Shutdown" here stops the simulation
    movw $msg, %si
2:  movb (%si), %al
    testb %al, %al
    jz 3f
    outb %al, %dx
    incw %si
    jmp 2b
3:  hlt
    jmp 3b
msg: .asciz "Shutdown"
    .org 510
    .byte 0x55, 0xaa

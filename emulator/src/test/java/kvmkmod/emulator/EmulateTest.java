package kvmkmod.emulator;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_PROT32;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_PROT64;
import static kvmkmod.emulator.X86EmulateCtxt.X86EMUL_MODE_REAL;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_R8;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RAX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBP;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RCX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RDI;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RDX;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RSI;
import static kvmkmod.include.KvmVcpuArch.VCPU_REGS_RSP;
import static org.assertj.core.api.Assertions.assertThat;

/** x86_decode_insn + x86_emulate_insn on real instruction bytes, against a flat guest memory. */
class EmulateTest {
    static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, IF = 0x200, OF = 0x800;
    static final int DS = 3, SS = 2, CS = 1, ES = 0;

    static long arith(Machine m) { return m.rflags & (CF | PF | AF | ZF | SF | OF); }

    @Nested
    class RealMode16 {
        final Machine m = new Machine(X86EMUL_MODE_REAL);

        @Test
        void add_with_bx_si_disp8_addressing() {
            m.regs[VCPU_REGS_RBX] = 0x2000;
            m.regs[VCPU_REGS_RSI] = 0x10;
            m.regs[VCPU_REGS_RAX] = 0x1234;
            m.mem.set(0x2014, 2, 0xffff);
            m.code(0x01, 0x40, 0x04);                     // add [bx+si+4], ax
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x2014, 2)).isEqualTo(0x1233);
            assertThat(arith(m)).isEqualTo(CF | AF | PF);
            assertThat(m.rip()).isEqualTo(Machine.CODE + 3);
        }

        @Test
        void bp_based_operand_uses_the_stack_segment() {
            m.x86.seg[SS].base = 0x10000;
            m.regs[VCPU_REGS_RBP] = 0x100;
            m.mem.set(0x10102, 2, 0xbeef);
            m.code(0x8b, 0x46, 0x02);                     // mov ax, [bp+2]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xbeef);
        }

        @Test
        void segment_override_and_16_bit_offset_wrap() {
            m.x86.seg[ES].base = 0x20000;
            m.regs[VCPU_REGS_RBX] = 0xffff;
            m.mem.set(0x20000 + 0x0001, 1, 0x5a);
            m.code(0x26, 0x8a, 0x47, 0x02);               // mov al, es:[bx+2]  (offset wraps to 1)
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX] & 0xff).isEqualTo(0x5a);
        }

        @Test
        void moffs_store_and_load() {
            m.regs[VCPU_REGS_RAX] = 0x1122;
            m.code(0xa3, 0x00, 0x30);                     // mov [0x3000], ax
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 2)).isEqualTo(0x1122);
            m.mem.set(0x3002, 1, 0x77);
            m.code(0xa0, 0x02, 0x30);                     // mov al, [0x3002]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x1177);
        }

        @Test
        void push_call_ret() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.regs[VCPU_REGS_RAX] = 0xabcd;
            m.code(0x50);                                 // push ax
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x7ffe);
            assertThat(m.mem.get(0x7ffe, 2)).isEqualTo(0xabcd);

            m.code(0xe8, 0x10, 0x00);                     // call +0x10
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 3 + 0x10);
            assertThat(m.mem.get(0x7ffc, 2)).isEqualTo(Machine.CODE + 3);

            m.mem.put(m.rip(), 0xc3);                     // ret
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 3);
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x7ffe);
        }

        @Test
        void jcc_short_taken_and_not_taken() {
            m.rflags |= ZF;
            m.code(0x74, 0x05);                           // jz +5
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 7);
            m.code(0x75, 0x05);                           // jnz +5
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 2);
        }

        @Test
        void rep_movsb_runs_one_iteration_per_emulation() {
            m.regs[VCPU_REGS_RSI] = 0x2000;
            m.regs[VCPU_REGS_RDI] = 0x3000;
            m.regs[VCPU_REGS_RCX] = 3;
            m.mem.put(0x2000, 1, 2, 3);
            m.code(0xf3, 0xa4);                           // rep movsb
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE);  // stays on the instruction
            assertThat(m.regs[VCPU_REGS_RCX]).isEqualTo(2);
            assertThat(m.run(10)).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 2);
            assertThat(m.regs[VCPU_REGS_RCX]).isZero();
            assertThat(m.mem.get(0x3000, 3)).isEqualTo(0x030201);
            assertThat(m.regs[VCPU_REGS_RDI]).isEqualTo(0x3003);
        }

        @Test
        void in_and_out_go_through_kvm_emulate_pio() {
            m.code(0xe4, 0x60);                           // in al, 0x60
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("pio in size 1 port 60");
            assertThat(m.rip()).isEqualTo(Machine.CODE + 2);

            m.regs[VCPU_REGS_RDX] = 0x3f8;
            m.code(0xef);                                 // out dx, ax
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("pio out size 2 port 3f8");
        }

        @Test
        void quirk_in_handled_by_the_kernel_counts_as_failure() {
            m.x86.pioResult = 1;
            m.code(0xec);                                 // in al, dx
            assertThat(m.step()).isEqualTo(-1);
            assertThat(m.rip()).isEqualTo(Machine.CODE);
        }

        @Test
        void outs_and_ins_hand_off_to_kvm_emulate_pio_string() {
            m.regs[VCPU_REGS_RSI] = 0x100;
            m.regs[VCPU_REGS_RCX] = 7;
            m.regs[VCPU_REGS_RDX] = 0x80;
            m.x86.seg[DS].base = 0x5000;
            m.code(0xf3, 0x6e);                           // rep outsb
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("pio_string out size 1 count 7 down 0 addr 5100 rep 1 port 80");
            assertThat(m.rip()).as("pio_string skips the instruction itself").isEqualTo(Machine.CODE);

            m.x86.pioStringResult = 0;                    // userspace must finish it
            m.code(0x6d);                                 // insw
            assertThat(m.step()).isEqualTo(-1);
        }

        @Test
        void hlt_cli_sti_and_interrupt_shadow() {
            m.code(0xf4);
            assertThat(m.step()).isZero();
            assertThat(m.ctxt.vcpu.arch.halt_request).isEqualTo(1);

            m.code(0xfb);                                 // sti
            assertThat(m.step()).isZero();
            assertThat(m.rflags & IF).isEqualTo(IF);
            assertThat(m.ctxt.interruptibility).isEqualTo(X86EmulateCtxt.X86_SHADOW_INT_STI);

            m.x86.interrupt_shadow = X86EmulateCtxt.X86_SHADOW_INT_STI;   // sti; sti
            m.code(0xfb);
            assertThat(m.step()).isZero();
            assertThat(m.ctxt.interruptibility).isZero();

            m.code(0xfa);                                 // cli
            assertThat(m.step()).isZero();
            assertThat(m.rflags & IF).isZero();

            m.code(0xfd, 0xf5);                           // std; cmc
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 1);
            assertThat(m.step()).isZero();
            assertThat(m.rflags & (DF | CF)).isEqualTo(DF | CF);
        }

        @Test
        void mov_to_segment_registers() {
            m.regs[VCPU_REGS_RAX] = 0x1234;
            m.code(0x8e, 0xd0);                           // mov ss, ax
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("load_seg 2 1234 type 1");
            assertThat(m.ctxt.interruptibility).isEqualTo(X86EmulateCtxt.X86_SHADOW_INT_MOV_SS);

            m.code(0x8e, 0xc8);                           // mov cs, ax: #UD, nothing committed
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("exception 6");
            assertThat(m.rip()).isEqualTo(Machine.CODE);

            m.x86.seg[DS].selector = 0x40;
            m.code(0x8c, 0xdb);                           // mov bx, ds
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RBX]).isEqualTo(0x40);
        }

        @Test
        void lgdt_lidt_smsw_lmsw() {
            m.mem.put(0x3000, 0xff, 0x00, 0x00, 0x10, 0x02, 0xee);   // limit 0xff, base 0x021000 (24 bits)
            m.code(0x0f, 0x01, 0x16, 0x00, 0x30);         // lgdt [0x3000]
            assertThat(m.step()).isZero();
            m.code(0x0f, 0x01, 0x1e, 0x00, 0x30);         // lidt [0x3000]
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("lgdt ff 21000", "lidt ff 21000");

            m.x86.cr0 = 0x60000011L;
            m.code(0x0f, 0x01, 0xe0);                     // smsw ax
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x0011);

            m.regs[VCPU_REGS_RBX] = 1;
            m.code(0x0f, 0x01, 0xf3);                     // lmsw bx
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("lmsw 1");
        }

        @Test
        void privileged_instruction_at_cpl_3_injects_gp_and_commits_nothing() {
            m.x86.cpl = 3;
            m.code(0xf4);
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("#GP 0");
            assertThat(m.ctxt.vcpu.arch.halt_request).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE);
        }

        @Test
        void quirk_add_al_imm8_works_on_the_whole_ax() {
            m.regs[VCPU_REGS_RAX] = 0x00ff;
            m.code(0x04, 0x01);                           // add al, 1: hardware gives ax = 0x0000
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x0100);
        }

        @Test
        void quirk_int3_and_iret_are_skipped_as_if_executed() {
            m.code(0xcc);
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 1);
            m.code(0xcd, 0x10);                           // int 0x10
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 2);
        }

        @Test
        void quirk_pusha_stores_only_di() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.regs[VCPU_REGS_RAX] = 0x1111;
            m.regs[VCPU_REGS_RDI] = 0x7777;
            m.code(0x60);
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x8000 - 16);
            assertThat(m.mem.get(0x8000 - 16, 2)).isEqualTo(0x7777);
            assertThat(m.mem.get(0x8000 - 2, 2)).as("ax never written").isZero();
            assertThat(m.mem.writes).hasSize(1);
        }
    }

    @Nested
    class Protected32 {
        final Machine m = new Machine(X86EMUL_MODE_PROT32);

        @Test
        void add_with_sib_addressing() {
            m.regs[VCPU_REGS_RAX] = 0x2000;
            m.regs[VCPU_REGS_RCX] = 4;
            m.regs[VCPU_REGS_RDX] = 0x80000000L;
            m.mem.set(0x2018, 4, 0x80000000L);
            m.code(0x01, 0x54, 0x88, 0x08);               // add [eax+ecx*4+8], edx
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x2018, 4)).isZero();
            assertThat(arith(m)).isEqualTo(CF | ZF | PF | OF);
            assertThat(m.rip()).isEqualTo(Machine.CODE + 4);
        }

        @Test
        void alu_group1_forms_and_flags() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 4, 5);
            m.code(0x83, 0x2b, 0x07);                     // sub dword [ebx], 7
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0xfffffffeL);
            assertThat(arith(m)).isEqualTo(CF | SF | AF);

            m.code(0x80, 0x0b, 0x01);                     // or byte [ebx], 1
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0xffffffffL);
            assertThat(arith(m)).isEqualTo(SF | PF);

            m.rflags |= CF;
            m.code(0x81, 0x13, 0x01, 0x00, 0x00, 0x00);   // adc dword [ebx], 1
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(1);
            assertThat(arith(m) & (CF | ZF)).isEqualTo(CF);

            m.regs[VCPU_REGS_RAX] = 0x0f;
            m.code(0x32, 0x03);                           // xor al, [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x0e);
        }

        @Test
        void quirk_cmp_writes_its_memory_destination_back() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RAX] = 9;
            m.mem.set(0x3000, 4, 9);
            m.code(0x39, 0x03);                           // cmp [ebx], eax
            assertThat(m.step()).isZero();
            assertThat(arith(m) & ZF).isEqualTo(ZF);
            assertThat(m.mem.writes).containsExactly("3000/4");
        }

        @Test
        void shifts_and_rotates() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RCX] = 4;
            m.mem.set(0x3000, 4, 0x80000001L);
            m.code(0xd3, 0x23);                           // shl dword [ebx], cl
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x10);
            assertThat(arith(m) & CF).isZero();

            m.code(0xc1, 0x3b, 0x02);                     // sar dword [ebx], 2
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(4);

            for (int i = 0; i < 3; i++) {
                m.code(0xd1, 0x0b);                       // ror dword [ebx], 1
                assertThat(m.step()).isZero();
            }
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x80000000L);
            assertThat(arith(m) & CF).isEqualTo(CF);
        }

        @Test
        void inc_dec_neg_not() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 4, 0x7fffffff);
            m.rflags |= CF;
            m.code(0xff, 0x03);                           // inc dword [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x80000000L);
            assertThat(arith(m)).isEqualTo(CF | OF | SF | AF | PF);   // inc keeps CF

            m.code(0xf7, 0x1b);                           // neg dword [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x80000000L);
            assertThat(arith(m) & (CF | OF)).isEqualTo(CF | OF);

            m.code(0xf7, 0x13);                           // not dword [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x7fffffffL);

            m.code(0xfe, 0x0b);                           // dec byte [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x7ffffffeL);

            m.regs[VCPU_REGS_RDX] = 5;
            m.code(0x4a);                                 // dec edx
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RDX]).isEqualTo(4);
        }

        @Test
        void xchg_cmpxchg_and_cmpxchg8b() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RAX] = 0x11;
            m.mem.set(0x3000, 4, 0x22);
            m.code(0x87, 0x03);                           // xchg [ebx], eax
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x22);
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x11);

            m.regs[VCPU_REGS_RAX] = 0x11;
            m.regs[VCPU_REGS_RCX] = 0x99;
            m.code(0x0f, 0xb1, 0x0b);                     // cmpxchg [ebx], ecx: equal
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x99);
            assertThat(arith(m) & ZF).isEqualTo(ZF);
            m.code(0x0f, 0xb1, 0x0b);
            assertThat(m.step()).as("again: now different").isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x99);
            assertThat(arith(m) & ZF).isZero();

            m.mem.set(0x3000, 8, 0x0000000200000001L);
            m.regs[VCPU_REGS_RAX] = 1;
            m.regs[VCPU_REGS_RDX] = 2;
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RCX] = 0xc;
            m.code(0x0f, 0xc7, 0x0b);                     // cmpxchg8b [ebx]
            assertThat(m.step()).isZero();
            assertThat(arith(m) & ZF).isEqualTo(ZF);
            assertThat(m.mem.get(0x3000, 8)).isEqualTo(0x0000000c00003000L);
        }

        @Test
        void movzx_movsx_cmov_lea() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 2, 0x8081);
            m.code(0x0f, 0xb6, 0x03);                     // movzx eax, byte [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x81);
            m.code(0x0f, 0xbf, 0x03);                     // movsx eax, word [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xffff8081L);

            m.rflags |= ZF;
            m.code(0x0f, 0x44, 0x13);                     // cmovz edx, [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RDX]).isEqualTo(0x8081);

            m.x86.seg[DS].base = 0x100000;                // lea ignores the segment base
            m.regs[VCPU_REGS_RCX] = 2;
            m.code(0x8d, 0x44, 0x4b, 0x10);               // lea eax, [ebx+ecx*2+0x10]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x3014);
        }

        @Test
        void bit_tests() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RAX] = 35;                   // bit 3 of the dword at +4
            m.mem.set(0x3004, 4, 0x8);
            m.code(0x0f, 0xa3, 0x03);                     // bt [ebx], eax
            assertThat(m.step()).isZero();
            assertThat(arith(m) & CF).isEqualTo(CF);
            assertThat(m.mem.writes).isEmpty();

            m.code(0x0f, 0xb3, 0x03);                     // btr [ebx], eax
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3004, 4)).isZero();

            m.code(0x0f, 0xba, 0x2b, 0x05);               // bts dword [ebx], 5
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x20);
            m.code(0x0f, 0xba, 0x3b, 0x05);               // btc dword [ebx], 5
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isZero();
            assertThat(arith(m) & CF).isEqualTo(CF);
        }

        @Test
        void shld_by_immediate_and_the_cl_quirk() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RAX] = 0xf0000000L;
            m.mem.set(0x3000, 4, 0x1);
            m.code(0x0f, 0xa4, 0x03, 0x04);               // shld [ebx], eax, 4
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x1f);

            m.regs[VCPU_REGS_RCX] = 4;                    // 2.6.33 quirk: count = CL & 8 = 0
            m.code(0x0f, 0xa5, 0x03);                     // shld [ebx], eax, cl
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x1f);
            m.regs[VCPU_REGS_RCX] = 12;                   // CL & 8 = 8
            m.code(0x0f, 0xa5, 0x03);
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x1ff0L);
        }

        @Test
        void string_ops_stos_lods_and_cmps_quirk() {
            m.regs[VCPU_REGS_RDI] = 0x3000;
            m.regs[VCPU_REGS_RCX] = 2;
            m.regs[VCPU_REGS_RAX] = 0xdeadbeefL;
            m.code(0xf3, 0xab);                           // rep stosd
            assertThat(m.run(5)).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0xdeadbeefL);
            assertThat(m.mem.get(0x3004, 4)).isEqualTo(0xdeadbeefL);
            assertThat(m.regs[VCPU_REGS_RDI]).isEqualTo(0x3008);

            m.regs[VCPU_REGS_RSI] = 0x3004;
            m.rflags |= DF;
            m.code(0xac);                                 // lodsb, backwards
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xdeadbeefL);
            assertThat(m.regs[VCPU_REGS_RSI]).isEqualTo(0x3003);
            m.rflags &= ~DF;

            m.mem.set(0x4000, 1, 1);
            m.mem.set(0x5000, 1, 2);
            m.regs[VCPU_REGS_RSI] = 0x4000;
            m.regs[VCPU_REGS_RDI] = 0x5000;
            m.code(0xa6);                                 // cmpsb: hardware computes 1 - 2, CF = 1
            assertThat(m.step()).isZero();
            assertThat(arith(m) & (CF | ZF)).as("2.6.33 computes 2 - 1").isZero();

            m.code(0xae);                                 // scasb
            assertThat(m.step()).isEqualTo(-1);
        }

        @Test
        void pushf_popf_and_pop_rm() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.rflags = 0x2 | CF | ZF;
            m.code(0x9c);                                 // pushf
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x7ffc, 4)).isEqualTo(0x43);
            m.mem.set(0x7ffc, 4, 0x3cd7);                 // popf takes it all (2.6.33: no masking)
            m.code(0x9d);
            assertThat(m.step()).isZero();
            assertThat(m.rflags).isEqualTo(0x3cd7);

            m.regs[VCPU_REGS_RSP] = 0x7ffc;
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.code(0x8f, 0x03);                           // pop dword [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 4)).isEqualTo(0x3cd7);
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x8000);
        }

        @Test
        void group5_call_jmp_push() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 4, 0x4444);
            m.code(0xff, 0x13);                           // call [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0x4444);
            assertThat(m.mem.get(0x7ffc, 4)).isEqualTo(Machine.CODE + 2);

            m.code(0xff, 0x23);                           // jmp [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0x4444);

            m.code(0xff, 0x33);                           // push [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x7ff8, 4)).isEqualTo(0x4444);
        }

        @Test
        void control_and_debug_registers_msrs_clts() {
            m.x86.cr0 = 0x80000011L;
            m.code(0x0f, 0x20, 0xc3);                     // mov ebx, cr0
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RBX]).isEqualTo(0x80000011L);
            m.regs[VCPU_REGS_RAX] = 0x5000;
            m.code(0x0f, 0x22, 0xd8);                     // mov cr3, eax
            assertThat(m.step()).isZero();
            assertThat(m.x86.cr3).isEqualTo(0x5000);
            m.code(0x0f, 0x20, 0x03);                     // mod != 3: refused (quirk)
            assertThat(m.step()).isEqualTo(-1);

            m.code(0x0f, 0x21, 0xc8);                     // mov eax, dr1
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x2000);
            m.code(0x0f, 0x23, 0xf8);                     // mov dr7, eax
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("set_dr7 2000");

            m.regs[VCPU_REGS_RCX] = 0x10;
            m.regs[VCPU_REGS_RAX] = 0x11111111L;
            m.regs[VCPU_REGS_RDX] = 0x22;
            m.code(0x0f, 0x30);                           // wrmsr
            assertThat(m.step()).isZero();
            assertThat(m.x86.msrs.get(0x10)).isEqualTo(0x0000002211111111L);
            m.regs[VCPU_REGS_RAX] = m.regs[VCPU_REGS_RDX] = 0;
            m.code(0x0f, 0x32);                           // rdmsr
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x11111111L);
            assertThat(m.regs[VCPU_REGS_RDX]).isEqualTo(0x22);
            m.regs[VCPU_REGS_RCX] = 0x99;                 // unknown MSR: #GP, RIP unchanged
            m.code(0x0f, 0x32);
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("#GP 0");
            assertThat(m.rip()).isEqualTo(Machine.CODE);

            m.x86.cr0 = 8;
            m.code(0x0f, 0x06);                           // clts
            assertThat(m.step()).isZero();
            assertThat(m.x86.cr0).isZero();

            m.regs[VCPU_REGS_RBX] = 0x7000;
            m.code(0x0f, 0x01, 0x3b);                     // invlpg [ebx]
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).contains("invlpg 7000");
        }

        @Test
        void sysenter_loads_the_sysenter_msrs() {
            m.x86.msrs.put(0x174, 0x10L);
            m.x86.msrs.put(0x175, 0x9000L);
            m.x86.msrs.put(0x176, 0xc0001000L);
            m.rflags |= IF;
            m.code(0x0f, 0x34);
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0xc0001000L);
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x9000);
            assertThat(m.x86.seg[CS].selector).isEqualTo(0x10);
            assertThat(m.x86.seg[SS].selector).isEqualTo(0x18);
            assertThat(m.rflags & IF).isZero();
        }

        @Test
        void test_imm_and_grp3_holes() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 1, 0x80);
            m.code(0xf6, 0x03, 0x80);                     // test byte [ebx], 0x80
            assertThat(m.step()).isZero();
            assertThat(arith(m)).isEqualTo(SF);
            m.code(0xf7, 0x33);                           // div dword [ebx]: entry 0
            assertThat(m.step()).isEqualTo(-1);
        }
    }

    @Nested
    class Long64 {
        final Machine m = new Machine(X86EMUL_MODE_PROT64);

        @Test
        void rex_w_alu_and_zero_extension_of_32_bit_results() {
            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.regs[VCPU_REGS_RAX] = 0x100000000L;
            m.mem.set(0x3000, 8, 0xffffffffL);
            m.code(0x48, 0x01, 0x03);                     // add [rbx], rax
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 8)).isEqualTo(0x1ffffffffL);

            m.regs[VCPU_REGS_RAX] = -1L;
            m.code(0x8b, 0x03);                           // mov eax, [rbx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xffffffffL);

            m.regs[VCPU_REGS_R8] = 0x3000;
            m.code(0x4d, 0x8b, 0x08);                     // mov r9, [r8]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_R8 + 1]).isEqualTo(0x1ffffffffL);
        }

        @Test
        void rip_relative_operand() {
            m.mem.set(Machine.CODE + 6 + 0x100, 4, 0xcafe);
            m.code(0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);   // mov eax, [rip+0x100]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xcafe);

            m.mem.set(Machine.CODE + 7 + 0x10, 1, 0x42);
            m.code(0xc6, 0x05, 0x10, 0x00, 0x00, 0x00, 0x99);  // mov byte [rip+0x10], 0x99 (imm after disp)
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(Machine.CODE + 7 + 0x10, 1)).isEqualTo(0x99);
        }

        @Test
        void push_pop_are_64_bit_and_movsxd() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.regs[VCPU_REGS_RAX] = 0x1122334455667788L;
            m.code(0x50);                                 // push rax
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x7ff8, 8)).isEqualTo(0x1122334455667788L);
            m.code(0x41, 0x59);                           // pop r9
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_R8 + 1]).isEqualTo(0x1122334455667788L);

            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 4, 0x80000000L);
            m.code(0x48, 0x63, 0x03);                     // movsxd rax, [rbx]
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xffffffff80000000L);
        }

        @Test
        void quirks_of_64_bit_decoding() {
            m.code(0x48, 0xb8, 0x01, 0x00, 0x00, 0x80);   // mov rax, imm: 2.6.33 takes 4 bytes, sign-extends
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0xffffffff80000001L);
            assertThat(m.rip()).isEqualTo(Machine.CODE + 6);

            m.regs[VCPU_REGS_RAX] = 0x100000000L;
            m.code(0x48, 0x05, 0x01, 0x00, 0x00, 0x00);   // add rax, 1: accumulator read as 0
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(1);

            m.regs[VCPU_REGS_RAX] = 0x11;
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.code(0x40, 0x88, 0xc4);                     // mov spl, al: 2.6.33 writes AH
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RAX]).isEqualTo(0x1111);
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x8000);

            m.regs[VCPU_REGS_RBX] = 0x3000;
            m.mem.set(0x3000, 1, 5);
            m.code(0x44, 0x80, 0x03, 0x01);               // add byte [rbx], 1 with a (meaningless) REX.R
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x3000, 1)).as("REX.R hides the group 1 member").isEqualTo(5);
            assertThat(m.mem.writes).containsExactly("3000/1");

            m.code(0x06);                                 // push es: No64
            assertThat(m.step()).isEqualTo(-1);
            assertThat(m.x86.log).contains("failure: invalid x86/64 instruction");
        }

        @Test
        void syscall_in_long_mode() {
            m.x86.msrs.put(0xc0000081, 0x0023001000000000L);
            m.x86.msrs.put(0xc0000082, 0xffffffff81000000L);
            m.x86.msrs.put(0xc0000084, 0x200L);
            m.rflags = 0x202;
            m.code(0x0f, 0x05);
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0xffffffff81000000L);
            assertThat(m.regs[VCPU_REGS_RCX]).isEqualTo(Machine.CODE + 2);
            assertThat(m.regs[VCPU_REGS_R8 + 3]).isEqualTo(0x202);
            assertThat(m.x86.seg[CS].selector).isEqualTo(0x10);
            assertThat(m.x86.seg[CS].l).isEqualTo(1);
            assertThat(m.rflags & IF).isZero();
        }
    }

    @Nested
    class ControlTransfersAndSegments {
        final Machine m = new Machine(X86EMUL_MODE_REAL);

        @Test
        void far_jmp_and_far_ret_load_cs() {
            m.code(0xea, 0x34, 0x12, 0x00, 0xf0);         // jmp f000:1234
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0x1234);
            assertThat(m.x86.log).containsExactly("load_seg 1 f000 type 9");

            m.x86.seg[CS].base = 0;                       // back to the code at linear CODE
            m.regs[VCPU_REGS_RSP] = 0x7ffc;
            m.mem.set(0x7ffc, 2, 0x0100);                 // ip
            m.mem.set(0x7ffe, 2, 0x2000);                 // cs
            m.code(0xcb);                                 // retf
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(0x0100);
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x8000);
            assertThat(m.x86.log).contains("load_seg 1 2000 type 1");
        }

        @Test
        void push_and_pop_segment_registers() {
            m.regs[VCPU_REGS_RSP] = 0x8000;
            m.x86.seg[ES].selector = 0x1234;
            m.code(0x06);                                 // push es
            assertThat(m.step()).isZero();
            assertThat(m.mem.get(0x7ffe, 2)).isEqualTo(0x1234);
            m.code(0x1f);                                 // pop ds
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("load_seg 3 1234 type 1");
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x8000);
            m.code(0x0f, 0xa8);                           // push gs
            assertThat(m.step()).isZero();
            assertThat(m.regs[VCPU_REGS_RSP]).isEqualTo(0x7ffe);
        }

        @Test
        void vmcall_is_patched_and_rerun_but_vmmcall_is_skipped() {
            m.code(0x0f, 0x01, 0xc1);                     // vmcall
            assertThat(m.step()).isZero();
            assertThat(m.x86.log).containsExactly("fix_hypercall");
            assertThat(m.rip()).isEqualTo(Machine.CODE);
            m.code(0x0f, 0x01, 0xd9);                     // vmmcall: 2.6.33 quirk, RIP moves on
            assertThat(m.step()).isZero();
            assertThat(m.rip()).isEqualTo(Machine.CODE + 3);
            m.code(0x0f, 0x01, 0xc2);                     // vmlaunch (/0, rm 2): refused
            assertThat(m.step()).isEqualTo(-1);
        }

        @Test
        void syscall_and_sysenter_are_refused_in_real_mode() {
            m.code(0x0f, 0x05);
            assertThat(m.step()).isEqualTo(-1);
            m.code(0x0f, 0x34);
            assertThat(m.step()).isEqualTo(-1);
            assertThat(m.x86.log).containsExactly("#GP 0");
        }

        @Test
        void sysexit_returns_to_ring_3() {
            Machine p = new Machine(X86EMUL_MODE_PROT32);
            p.x86.msrs.put(0x174, 0x10L);
            p.regs[VCPU_REGS_RDX] = 0x400000;
            p.regs[VCPU_REGS_RCX] = 0xbff000;
            p.code(0x0f, 0x35);
            assertThat(p.step()).isZero();
            assertThat(p.rip()).isEqualTo(0x400000);
            assertThat(p.regs[VCPU_REGS_RSP]).isEqualTo(0xbff000);
            assertThat(p.x86.seg[CS].selector).isEqualTo(0x23);
            assertThat(p.x86.seg[SS].selector).isEqualTo(0x2b);
            assertThat(p.x86.seg[CS].dpl).isEqualTo(3);
        }

        @Test
        void quirk_a_faulting_fetch_decodes_as_success() {
            Machine p = new Machine(X86EMUL_MODE_PROT32);
            p.regs[kvmkmod.include.KvmVcpuArch.VCPU_REGS_RIP] = p.mem.mem.length - 1;
            p.mem.mem[p.mem.mem.length - 1] = (byte) 0x8b;        // mov r, r/m: the ModRM byte is beyond memory
            p.ctxt.vcpu = p.vcpu;
            p.ctxt.mode = X86EMUL_MODE_PROT32;
            assertThat(p.emulate.x86_decode_insn(p.ctxt, p.mem)).isZero();
        }
    }

    @Test
    void unimplemented_opcodes_are_refused() {
        Machine m = new Machine(X86EMUL_MODE_PROT32);
        int[][] refused = {
                {0x27},             // daa: table entry 0
                {0x2c, 0x01},       // sub al, imm8: entry 0 although the switch covers it
                {0x0f, 0xa2},       // cpuid
                {0x0f, 0x01, 0x03}, // sgdt
                {0xd8, 0xc0},       // x87
                {0x0f, 0xc7, 0xc8}, // group 9 with mod = 3
        };
        for (int[] code : refused) {
            m.code(code);
            assertThat(m.step()).as(java.util.Arrays.toString(code)).isEqualTo(-1);
            assertThat(m.rip()).isEqualTo(Machine.CODE);
        }
    }

    @Test
    void an_instruction_longer_than_15_bytes_is_refused() {
        Machine m = new Machine(X86EMUL_MODE_PROT32);
        int[] code = new int[16];
        java.util.Arrays.fill(code, 0x66);
        code[14] = 0x90;
        m.code(code);
        assertThat(m.step()).isZero();                    // 14 prefixes + nop = 15 bytes
        java.util.Arrays.fill(code, 0x66);
        code[15] = 0x90;
        m.code(code);
        assertThat(m.step()).isEqualTo(-1);
    }
}

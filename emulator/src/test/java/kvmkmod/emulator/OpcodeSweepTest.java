package kvmkmod.emulator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every one of the 331 decodable table entries, run once with simple operands: the ones the inventory
 * marks implemented (yes/partial) must be emulated, and the ones marked "no" must behave as 2.6.33 does
 * (scas refused; the opcodes without a switch case skipped).
 */
class OpcodeSweepTest {
    @Test
    void every_table_entry_behaves_as_in_2_6_33() throws Exception {
        List<String> wrong = new ArrayList<>();
        int emulated = 0, refused = 0, skipped = 0, rows = 0;
        for (String[] r : Reference.tsv("emulator_opcodes.tsv")) {
            rows++;
            String table = r[0], opcode = r[1], flags = r[2], implemented = r[4];
            boolean mod3 = opcode.contains("(mod=3)");
            String[] parts = opcode.replace("(mod=3)", "").trim().split(" ");
            List<Integer> bytes = new ArrayList<>();
            int reg = 1;
            for (String p : parts) {
                if (p.startsWith("/")) reg = Integer.parseInt(p.substring(1));
                else bytes.add(Integer.decode(p));
            }
            // A parent group row: pick a member that exists.
            if (flags.contains("Group7")) reg = 2;
            else if (flags.contains("Group8")) reg = 4;
            else if (flags.contains("Group9")) reg = 1;
            else if (flags.contains("|Group")) reg = 0;
            boolean modrm = flags.contains("ModRM") || flags.contains("Group");
            boolean crdr = table.equals("twobyte_table") && bytes.get(1) >= 0x20 && bytes.get(1) <= 0x23;
            if (modrm) {
                int mod = mod3 || crdr ? 3 : 0;
                int rm = mod == 3 ? 1 : 3;                  // mod=3: rm=1 (vmcall/vmmcall need it); else [ebx]
                bytes.add((mod << 6) | (reg << 3) | rm);
            }
            for (int i = 0; i < 8; i++) bytes.add(0);

            int mode = bytes.get(0) == 0x63 ? X86EmulateCtxt.X86EMUL_MODE_PROT64 : X86EmulateCtxt.X86EMUL_MODE_PROT32;
            Machine m = new Machine(mode);
            m.regs[kvmkmod.include.KvmVcpuArch.VCPU_REGS_RBX] = 0x3000;
            m.regs[kvmkmod.include.KvmVcpuArch.VCPU_REGS_RSP] = 0x8000;
            m.x86.msrs.put(0x174, 0x10L);
            m.code(bytes.stream().mapToInt(Integer::intValue).toArray());
            int rc = m.step();
            String what = table + " " + opcode + " (" + implemented + ")";
            if (!implemented.equals("no")) {
                if (rc != 0) wrong.add(what + ": returned " + rc);
                else emulated++;
            } else if (opcode.equals("0xae") || opcode.equals("0xaf")) {
                if (rc != -1) wrong.add(what + ": scas should be refused");
                else refused++;
            } else {
                if (rc != 0 || m.rip() == Machine.CODE) wrong.add(what + ": should be skipped as executed");
                else skipped++;
            }
        }
        System.out.printf("opcode sweep: %d table entries; %d emulated (yes/partial), %d refused and %d skipped as 2.6.33 does (no)%n",
                rows, emulated, refused, skipped);
        assertThat(wrong).isEmpty();
        assertThat(rows).isEqualTo(331);
    }
}

package kvmkmod.emulator;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Emulate's decode tables against emulator_opcodes.tsv, entry for entry. */
class OpcodeTablesTest {
    private static final String[] GROUPS = {"Group1_80", "Group1_81", "Group1_82", "Group1_83", "Group1A",
            "Group3_Byte", "Group3", "Group4", "Group5", "Group7", "Group8", "Group9"};

    private static int flags(String names) throws Exception {
        int v = 0;
        for (String n : names.split("\\|")) v |= Emulate.class.getField(n.trim()).getInt(null);
        return v;
    }

    @Test
    void flag_bit_values_are_those_of_2_6_33() {
        assertThat(Emulate.ByteOp).isEqualTo(1);
        assertThat(Emulate.DstMem).isEqualTo(6);
        assertThat(Emulate.DstAcc).isEqualTo(8);
        assertThat(Emulate.SrcImmU).isEqualTo(0x90);
        assertThat(Emulate.ModRM).isEqualTo(0x100);
        assertThat(Emulate.String).isEqualTo(0x1000);
        assertThat(Emulate.GroupDual).isEqualTo(0x8000);
        assertThat(Emulate.Priv).isEqualTo(1 << 27);
        assertThat(Emulate.Src2Imm16).isEqualTo(4 << 29);
    }

    @Test
    void tables_match_the_reference_entry_for_entry() throws Exception {
        int[] op = new int[256], two = new int[256], grp = new int[96], grp2 = new int[96];
        List<String[]> rows = Reference.tsv("emulator_opcodes.tsv");
        assertThat(rows).hasSize(331);
        for (String[] r : rows) {
            String table = r[0], opcode = r[1];
            int f = flags(r[2]);
            if (table.equals("opcode_table")) {
                op[Integer.decode(opcode)] = f;
            } else if (table.equals("twobyte_table")) {
                two[Integer.decode(opcode.split(" ")[1])] = f;
            } else {
                String[] tg = table.split(":");
                int slot = Integer.parseInt(opcode.split("/")[1].split(" ")[0]);
                int idx = java.util.Arrays.asList(GROUPS).indexOf(tg[1]) * 8 + slot;
                (tg[0].equals("group_table") ? grp : grp2)[idx] = f;
            }
        }
        List<String> diffs = new ArrayList<>();
        compare("opcode_table", Emulate.opcode_table, op, diffs);
        compare("twobyte_table", Emulate.twobyte_table, two, diffs);
        compare("group_table", Emulate.group_table, grp, diffs);
        compare("group2_table", Emulate.group2_table, grp2, diffs);
        assertThat(diffs).isEmpty();

        int nonZero = 0;
        for (int[] t : new int[][] {Emulate.opcode_table, Emulate.twobyte_table, Emulate.group_table, Emulate.group2_table})
            for (int v : t) if (v != 0) nonZero++;
        assertThat(nonZero).isEqualTo(331);
    }

    private static void compare(String name, int[] java, int[] ref, List<String> diffs) {
        assertThat(java).as(name + " size").hasSameSizeAs(ref);
        for (int i = 0; i < ref.length; i++)
            if (java[i] != ref[i]) diffs.add(String.format("%s[%#x]: java %#x, reference %#x", name, i, java[i], ref[i]));
    }
}

#!/usr/bin/env python3
"""Prints the Java initializers of Emulate's decode tables from the reference inventory
(../shared/reference/emulator_opcodes.tsv). Run once; the output is pasted into Emulate.java,
so nothing reads the TSV at run time (OpcodeTablesTest checks the two agree)."""
import csv, sys

tsv = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/reference/emulator_opcodes.tsv'
GROUPS = ['Group1_80', 'Group1_81', 'Group1_82', 'Group1_83', 'Group1A', 'Group3_Byte', 'Group3',
          'Group4', 'Group5', 'Group7', 'Group8', 'Group9']
tables = {'opcode_table': [None] * 256, 'twobyte_table': [None] * 256,
          'group_table': [None] * 96, 'group2_table': [None] * 96}
with open(tsv) as f:
    for row in csv.DictReader(f, delimiter='\t'):
        t, op, flags = row['table'], row['opcode'], row['decode_flags']
        expr = ' | '.join(flags.split('|'))
        if t == 'opcode_table':
            tables[t][int(op, 16)] = expr
        elif t == 'twobyte_table':
            tables[t][int(op.split()[1], 16)] = expr
        else:
            name, grp = t.split(':')
            slot = int(op.split('/')[1].split()[0])
            tables[name][GROUPS.index(grp) * 8 + slot] = expr

def emit(name, entries, label):
    print(f'    static final int[] {name} = {{')
    for row in range(0, len(entries), 8):
        chunk = entries[row:row + 8]
        if all(e is None for e in chunk):
            print(f'        /* {label(row)} - {label(row + 7)} */ 0, 0, 0, 0, 0, 0, 0, 0,')
            continue
        for i, e in enumerate(chunk):
            print(f'        /* {label(row + i)} */ {e or 0},')
    print('    };')

emit('opcode_table', tables['opcode_table'], lambda i: f'0x{i:02x}')
emit('twobyte_table', tables['twobyte_table'], lambda i: f'0x0f 0x{i:02x}')
emit('group_table', tables['group_table'], lambda i: f'{GROUPS[i // 8]} /{i % 8}')
emit('group2_table', tables['group2_table'], lambda i: f'{GROUPS[i // 8]} /{i % 8} mod=3')

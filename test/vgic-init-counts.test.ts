// selftests/vgic_init.ts prints how many of the kernel's checks each test function ran. Those
// counts must match the selftest catalogue (reference selftests-catalogue.md §1.1) for every
// host priority-bit count, because test_v3_sysregs tolerates a different set of APnR failures
// at 5, 6 and 7 bits (each tolerated failure runs get_ctlr_pribits()'s two checks).

import { resolve } from 'node:path';
import { execa } from 'execa';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '..');

/** 2 (vCPU, GIC) + 15 registers x 3 (has, get, set) + 2 per tolerated APnR get or set failure. */
const sysregsChecks = (priBits: 5 | 6 | 7): number => {
  const inaccessible = { 5: 6, 6: 4, 7: 0 }[priBits]; // AP0R1-3 + AP1R1-3, AP*R2-3, none
  return 2 + 15 * 3 + inaccessible * 2 * 2;
};

const expected = (priBits: 5 | 6 | 7): Array<[string, number]> => [
  ['v3: test_kvm_device', 3],
  ['v3: test_vcpus_then_vgic', 9],
  ['v3: test_vgic_then_vcpus', 9],
  ['v3: test_v3_new_redist_regions', 49],
  ['v3: test_v3_typer_accesses', 13],
  ['v3: test_v3_last_bit_redist_regions', 6],
  ['v3: test_v3_last_bit_single_rdist', 5],
  ['v3: test_v3_redist_ipa_range_check_at_vcpu_run', 1],
  ['v3: test_v3_its_region', 4],
  ['v3: test_v3_sysregs', sysregsChecks(priBits)],
  ['v3: test_v3_nassgicap', 2],
  ['v2: test_kvm_device', 3],
  ['v2: test_vcpus_then_vgic', 8],
  ['v2: test_vgic_then_vcpus', 8],
  ['v2: test_v2_uaccess_cpuif_no_vcpus', 10],
];

/** [case name, checks] from the TAP: the `# <fn>: N checks` comment inside each case. */
function counts(tap: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  let current: string | null = null;
  for (const line of tap.split('\n')) {
    const sub = /^# Subtest: (v[23]: \S+)$/.exec(line);
    if (sub) current = sub[1]!;
    const n = /^ {4}# (\S+): (\d+) checks$/.exec(line);
    if (n && current?.endsWith(n[1]!)) out.push([current, Number(n[2])]);
  }
  return out;
}

t.setTimeout(60_000);
for (const priBits of [5, 6, 7] as const) {
  t.test(`check counts per kernel test function, ${priBits} priority bits`, async (tt) => {
    const t0 = performance.now();
    const r = await execa('node', ['--import=tsx', 'selftests/vgic_init.ts'], {
      cwd: ROOT,
      reject: false,
      env: { VGIC_PRI_BITS: String(priBits), VGIC_PROFILE: 'series-p3' },
    });
    tt.equal(r.exitCode, 0, `vgic_init passes (${Math.round(performance.now() - t0)} ms wall, process included)`);
    tt.same(counts(r.stdout), expected(priBits), 'counts match the catalogue');
    const skips = r.stdout.match(/# SKIP SYS_ICC_AP\dR\d_EL1 for (read|write)/g) ?? [];
    tt.equal(skips.length, { 5: 12, 6: 8, 7: 0 }[priBits], 'one "SKIP <reg> for read|write" line per tolerated failure');
    tt.match(r.stdout, /# SKIP EL2 registers, not available/, 'EL2 registers take the kernel skip path');
  });
}

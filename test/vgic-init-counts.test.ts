// selftests/vgic_init.ts prints how many of the kernel's checks each test function ran. Those
// counts must match the selftest catalogue (reference selftests-catalogue.md §1.1) for every
// host priority-bit count, because test_v3_sysregs tolerates a different set of APnR failures
// at 5, 6 and 7 bits (each tolerated failure runs get_ctlr_pribits()'s two checks).

import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from './tap.ts';
import { collectSelftests, type CollectedSelftest } from '../lib/host/selftest.ts';

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
// vgic_init's cases, collected once and run in this process for each priority-bit count (the
// environment is read when a case runs), exactly as the standalone selftest runs them.
const [vgicInit] = (await collectSelftests(() => import(pathToFileURL(join(ROOT, 'selftests', 'vgic_init.ts')).href))) as [CollectedSelftest];

for (const priBits of [5, 6, 7] as const) {
  t.test(`check counts per kernel test function, ${priBits} priority bits`, async (tt) => {
    Object.assign(process.env, { VGIC_PRI_BITS: String(priBits), VGIC_PROFILE: 'series-p3' });
    let stdout = '';
    const exitCode = await vgicInit.run((text) => (stdout += text));
    tt.equal(exitCode, 0, 'vgic_init passes');
    tt.same(counts(stdout), expected(priBits), 'counts match the catalogue');
    const skips = stdout.match(/# SKIP SYS_ICC_AP\dR\d_EL1 for (read|write)/g) ?? [];
    tt.equal(skips.length, { 5: 12, 6: 8, 7: 0 }[priBits], 'one "SKIP <reg> for read|write" line per tolerated failure');
    tt.match(stdout, /# SKIP EL2 registers, not available/, 'EL2 registers take the kernel skip path');
  });
}

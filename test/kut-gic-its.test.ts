// selftests/kut_gic_its.ts keeps every report() of kvm-unit-tests' its-introspection (5) and
// its-trigger (6), each named as kvm-unit-tests prints it (arm/gic.c, lib/report.c), and ends each
// test with its SUMMARY line.

import { resolve } from 'node:path';
import { execa } from 'execa';
import t from './tap.ts';

const ROOT = resolve(import.meta.dirname, '..');

const EXPECTED = [
  'PASS: gicv3: its-introspection: GITS_IIDR is read-only',
  'PASS: gicv3: its-introspection: GITS_TYPER is read-only',
  'PASS: gicv3: its-introspection: ITS supports physical LPIs',
  'PASS: gicv3: its-introspection: ID spaces',
  'PASS: gicv3: its-introspection: detect device and collection BASER',
  'PASS: gicv3: its-trigger: int: dev=2, eventid=20  -> lpi= 8195, col=3',
  'PASS: gicv3: its-trigger: int: dev=7, eventid=255 -> lpi= 8196, col=2',
  'PASS: gicv3: its-trigger: inv/invall: dev2/eventid=20 does not trigger any LPI',
  'PASS: gicv3: its-trigger: inv/invall: dev2/eventid=20 pending LPI is received',
  'PASS: gicv3: its-trigger: inv/invall: dev2/eventid=20 now triggers an LPI',
  'PASS: gicv3: its-trigger: mapd valid=false: no LPI after device unmap',
];

t.test('kut_gic_its: the checks of its-introspection and its-trigger, by name and count', async (t) => {
  const r = await execa('node', ['--import=tsx', 'selftests/kut_gic_its.ts'], { cwd: ROOT, reject: false, env: { VGIC_SEED: '3' } });
  t.equal(r.exitCode, 0, 'exit 0');
  const checks = r.stdout.split('\n').map((l) => /^\s+ok \d+ - (.*)$/.exec(l)?.[1]).filter((x): x is string => !!x);
  t.same(checks, EXPECTED, 'every report() of the original, in order, named as kvm-unit-tests prints it');
  t.match(r.stdout, /# its-introspection: 5 checks/, 'its-introspection: 5 checks');
  t.match(r.stdout, /# its-trigger: 6 checks/, 'its-trigger: 6 checks');
  t.match(r.stdout, /# SUMMARY: 5 tests\n/, 'SUMMARY: 5 tests');
  t.match(r.stdout, /# SUMMARY: 6 tests\n/, 'SUMMARY: 6 tests');
  t.notMatch(r.stdout, /FAIL:|timed-out|spurious/, 'no failure, timeout or spurious interrupt reported');
  t.end();
});

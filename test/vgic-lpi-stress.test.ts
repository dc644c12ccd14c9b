// selftests/vgic_lpi_stress.ts: the C test's options (getopt "hv:d:e:i:", atoi/strtoul), its
// usage on -h (exit 1), and runs where every KVM_SIGNAL_MSI returns 1 and the guests take LPIs.

import { resolve } from 'node:path';
import { execa } from 'execa';
import t from './tap.ts';
import { setRecorder } from '../lib/host/index.ts';
import { parseLpiStressArgs, runLpiStress } from '../selftests/vgic_lpi_stress.ts';

const ROOT = resolve(import.meta.dirname, '..');

t.test('options as getopt("hv:d:e:i:") parses them', (t) => {
  t.same(parseLpiStressArgs([]), { nrCpus: 1, nrDevices: 1, nrEventIds: 16, nrIterations: 1000 }, 'defaults');
  t.same(parseLpiStressArgs(['-v', '4', '-d4', '-e', '17', '-i', '0x10']), { nrCpus: 4, nrDevices: 4, nrEventIds: 17, nrIterations: 16 }, '-v 4 -d4 -e 17 -i 0x10 (strtoul base 0)');
  t.same(parseLpiStressArgs(['-i', '010']), { nrCpus: 1, nrDevices: 1, nrEventIds: 16, nrIterations: 8 }, '-i 010 is octal');
  t.equal(parseLpiStressArgs(['-v', 'x'])!.nrCpus, 0, 'atoi("x") = 0');
  t.equal(parseLpiStressArgs(['-h']), null, '-h: usage');
  t.equal(parseLpiStressArgs(['-q']), null, 'unknown option: usage');
  t.equal(parseLpiStressArgs(['-v']), null, 'missing argument: usage');
  t.end();
});

t.test('runs: every MSI delivered, LPIs taken by every vCPU, the same for a seed', (t) => {
  setRecorder({ comment: () => {}, pass: () => {} });
  try {
    const a = runLpiStress({ nrCpus: 3, nrDevices: 2, nrEventIds: 5, nrIterations: 20, seed: 9 });
    t.equal(a.nrLpis, 200, '2 devices x 5 events x 20 iterations signalled (each returned 1, or the run would have failed)');
    t.ok(a.nrLpisTaken > 0 && a.nrLpisTaken <= a.nrLpis, `the guests took ${a.nrLpisTaken} LPIs`);
    const b = runLpiStress({ nrCpus: 3, nrDevices: 2, nrEventIds: 5, nrIterations: 20, seed: 9 });
    t.equal(b.nrLpisTaken, a.nrLpisTaken, 'same seed, same interleaving, same count');
    const z = runLpiStress({ nrCpus: 2, nrDevices: 1, nrEventIds: 16, nrIterations: 0, seed: 1 });
    t.equal(z.nrLpis, 0, '-i 0: nothing signalled, the vCPUs still stop');
    // -d 0: vm_phy_pages_alloc(vm, 0 pages) for the ITTs asserts, as in C
    t.throws(() => runLpiStress({ nrCpus: 1, nrDevices: 0, nrEventIds: 1, nrIterations: 1, seed: 1 }), /Must allocate at least one page/, '-d 0: "Must allocate at least one page"');
  } finally {
    setRecorder(null);
  }
  t.end();
});

t.test('-h prints the usage and exits 1; a run ends with the rate', async (t) => {
  const [h, r] = await Promise.all([
    execa('node', ['--import=tsx', 'selftests/vgic_lpi_stress.ts', '-h'], { cwd: ROOT, reject: false }),
    execa('node', ['--import=tsx', 'selftests/vgic_lpi_stress.ts', '-v', '2', '-d', '2', '-e', '3', '-i', '10'], { cwd: ROOT, reject: false }),
  ]);
  t.equal(h.exitCode, 1, '-h: exit 1');
  t.match(h.stdout, /\[-v NR_VCPUS\] \[-d NR_DEVICES\] \[-e NR_EVENTS\] \[-i ITERS\] -h/, 'usage line');
  t.match(h.stdout, /-i:\tnumber of iterations \(default: 1000\)/, 'defaults shown');
  t.equal(r.exitCode, 0, 'exit 0');
  t.match(r.stdout, /# Rate: \d+\.\d\d LPIs\/sec\n\s+# vgic_lpi_stress: 3 checks/, 'the test output ends with "Rate: N LPIs/sec"');
  t.end();
});

// vgic_irq's two-vCPU cases run on the seeded scheduler (lib/host/threads.ts): the same seed must
// give the same interleaving (each case prints a fingerprint of its schedule) and the same
// output, run after run; another seed gives another interleaving.

import { resolve } from 'node:path';
import { execa } from 'execa';
import t from './tap.ts';

const ROOT = resolve(import.meta.dirname, '..');

async function run(seed: number): Promise<{ code: number; out: string }> {
  const r = await execa('node', ['--import=tsx', 'selftests/vgic_irq.ts'], {
    cwd: ROOT,
    reject: false,
    env: { VGIC_SEED: String(seed), VGIC_PROFILE: 'series-p3' },
  });
  // Only wall-clock times may differ between two runs.
  return { code: r.exitCode ?? -1, out: r.stdout.replace(/time=[\d.]+ms/g, 'time=X') };
}

const fingerprints = (out: string): string[] => [...out.matchAll(/# schedule: (\d+) slices, fingerprint (0x[0-9a-f]+)/g)].map((m) => `${m[1]}/${m[2]}`);

t.setTimeout(90_000);
t.test('same seed, same interleaving and output; another seed, another interleaving', async (tt) => {
  const [a, b, c] = await Promise.all([run(7), run(7), run(8)]);
  tt.equal(a.code, 0, 'vgic_irq passes with seed 7');
  tt.equal(c.code, 0, 'vgic_irq passes with seed 8');
  tt.equal(fingerprints(a.out).length, 3, 'asym_dir, group_en and timer_spi each print their schedule');
  tt.match(a.out, /# vCPU scheduler seed 7/, 'the seed is printed');
  tt.same(fingerprints(b.out), fingerprints(a.out), 'seed 7 twice: the same three schedules');
  tt.equal(b.out, a.out, 'seed 7 twice: byte-identical TAP (times aside)');
  tt.not(fingerprints(c.out).join(), fingerprints(a.out).join(), 'seed 8 interleaves differently');
});

// Recorded real-KVM results: `vgic-harness conformance --record DIR` writes, per kernel and GIC
// version, every step's normalised result as real KVM gave it, so `make check` can hold the
// model to real kernels without QEMU (lib/conformance/recorded.test.ts). Each scenario carries a
// hash of its steps: a scenario edited since the recording is reported, not silently compared.
import { createHash } from 'node:crypto';
import type { Scenario } from './language.ts';
import type { KvmMode } from './qemu.ts';

export interface Recording {
  kernel: string;
  gic: 2 | 3;
  release: string;
  /** kvm-arm.mode of the recorded run (absent in older recordings: vhe, the default). */
  kvmMode: KvmMode;
  scenarios: Map<string, { hash: string; results: string[] }>;
}

export function scenarioHash(s: Scenario): string {
  const h = createHash('sha256');
  for (const st of s.steps) h.update(st.text).update('\n');
  return h.digest('hex').slice(0, 16);
}

export function formatRecording(r: { kernel: string; gic: 2 | 3; release: string; kvmMode: KvmMode }, scenarios: readonly Scenario[], results: readonly (readonly string[])[]): string {
  const total = results.reduce((n, x) => n + x.length, 0);
  const out = [`# vgic-harness conformance record: linux-${r.kernel} gicv${r.gic} (${r.release}), ${total} steps`];
  out.push(`kernel ${r.kernel}`, `gic ${r.gic}`, `mode ${r.kvmMode}`, `release ${r.release}`);
  scenarios.forEach((s, i) => {
    out.push(`@ ${s.name} ${s.steps.length} ${scenarioHash(s)}`, ...results[i]!);
  });
  return `${out.join('\n')}\n`;
}

export function parseRecording(text: string, file: string): Recording {
  const lines = text.split('\n');
  const rec: Recording = { kernel: '', gic: 3, release: '', kvmMode: 'vhe', scenarios: new Map() };
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${file}:${i + 1}: ${msg}`);
  };
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '' || l.startsWith('#')) continue;
    const [k, v, n, hash] = l.split(' ');
    if (k === 'kernel') rec.kernel = v ?? fail('kernel needs a version');
    else if (k === 'gic') rec.gic = v === '2' ? 2 : v === '3' ? 3 : fail('gic must be 2 or 3');
    else if (k === 'mode') rec.kvmMode = v === 'nvhe' || v === 'protected' || v === 'vhe' ? v : fail('mode must be vhe, nvhe or protected');
    else if (k === 'release') rec.release = l.slice(8);
    else if (k === '@') {
      const count = Number(n);
      if (!v || !Number.isInteger(count) || !hash) fail('expected "@ NAME STEPS HASH"');
      const results = lines.slice(i + 1, i + 1 + count);
      if (results.length !== count) fail(`scenario ${v} ends early`);
      rec.scenarios.set(v!, { hash: hash!, results });
      i += count;
    } else fail(`unexpected line '${l}'`);
  }
  if (rec.kernel === '') throw new Error(`${file}: no kernel line`);
  return rec;
}

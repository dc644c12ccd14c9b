// Snapshot fuzzing: hostile YAML of every kind (deep nesting, huge mappings and scalars, aliases,
// BOMs, CR-only line ends, control characters), random mutations of valid snapshots (deleted,
// duplicated and swapped lines, truncation at any line or character, changed values, wrong
// widths, renamed keys, extra fields), injected write failures and hostile objects. Checks:
// - every text is refused with a SnapshotError (nothing else escapes) or parsed;
// - every parsed snapshot is refused before the first write, restored whole, or rolled back,
//   and a refused or failed restore leaves the destination byte-identical (everything a
//   restore can change, captured before and after);
// - no parse takes more than 1 s of CPU or grows the heap by more than 200 MB (CPU time, not
//   wall time, so a busy machine does not inflate it; the largest seen is printed).
// Replay or explore with SNAPSHOT_FUZZ_SEED=<n> or SNAPSHOT_FUZZ_SEED=random.

import type { Test } from 'tap';
import t from '../../test/tap.ts';
import { PROFILES, seededRandom } from '../host/index.ts';
import { SnapshotError, registerNames, validateSnapshot, type VgicSnapshot } from './schema.ts';
import { diffSnapshots } from './diff.ts';
import { type VmmMachine, createVmmMachine } from './vmm/machine.ts';
import { restoreVgic } from './vmm/restore.ts';
import { saveVgic } from './vmm/save.ts';
import { recorded } from '../../test/support/snapshot-io.ts';
import { type SourceCase, capture, hostileTexts, measure, sourceCases } from '../../test/support/snapshot.ts';
import { parseSnapshotYaml, stringifySnapshot } from './yaml-io.ts';

const SEED_ENV = process.env.SNAPSHOT_FUZZ_SEED ?? '20261204';
const SEED = (SEED_ENV === 'random' ? Date.now() % 0x7fffffff : Number(SEED_ENV)) >>> 0;
t.comment(`snapshot fuzz seed ${SEED} (replay with SNAPSHOT_FUZZ_SEED=${SEED})`);
const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const CPU_LIMIT_MS = 1000;
const HEAP_LIMIT = 200 * 1024 * 1024;
const MUTATIONS = 150;

const sources = sourceCases();
let maxCpu = { ms: 0, what: '' };
let maxHeap = { bytes: 0, what: '' };

/** Parse with limits checked; returns the snapshot or null when refused. */
function parseChecked(tt: Test, text: string, what: string, gcFirst = false): VgicSnapshot | null {
  const m = measure(() => parseSnapshotYaml(text), gcFirst);
  if (m.cpuMs > maxCpu.ms) maxCpu = { ms: m.cpuMs, what };
  if (m.heapBytes > maxHeap.bytes) maxHeap = { bytes: m.heapBytes, what };
  if (m.cpuMs > CPU_LIMIT_MS) tt.fail(`${what}: parse took ${m.cpuMs.toFixed(0)} ms of CPU`);
  if (m.heapBytes > HEAP_LIMIT) tt.fail(`${what}: parse grew the heap by ${(m.heapBytes / 1048576).toFixed(0)} MB`);
  if (m.result.ok) return m.result.value;
  if (!(m.result.error instanceof SnapshotError)) {
    tt.fail(`${what}: parse threw ${String((m.result.error as Error)?.stack ?? m.result.error)}`);
  } else if (m.result.error.message.includes('\n')) {
    tt.fail(`${what}: a refusal is one line: ${m.result.error.message}`);
  }
  return null;
}

type Outcome = 'refused' | 'restored' | 'rolled back';
const outcomes: Record<Outcome | 'parse refused', number> = { 'parse refused': 0, refused: 0, restored: 0, 'rolled back': 0 };

/** Restore into a fresh destination like the source's; check all-or-nothing. */
function restoreChecked(tt: Test, src: SourceCase, snap: unknown, what: string, failAt?: number): Outcome {
  const dst: VmmMachine = createVmmMachine({ vmm: src.vmm, model: src.model, nrVcpus: src.nrVcpus, nrIrqs: src.nrIrqs, profile: pick(PROFILES).name });
  try {
    const before = capture(dst.handle);
    let sets = 0;
    const { handle, io } = recorded(dst.handle, (a) => (a.dir === 'set' && failAt !== undefined && ++sets === failAt ? -16 /* EBUSY */ : 0));
    const r = restoreVgic(handle, src.vmm, snap, io.restoreOptions);
    if (r.ok) {
      const writes = io.inPhase('restore').filter((a) => a.dir === 'set');
      if (!writes.every((a) => a.ret === 0) || writes.length !== r.writes) tt.fail(`${what}: restored, but not every write of the plan succeeded`);
      if (io.log.some((a) => a.dir === 'set' && a.phase !== 'restore')) tt.fail(`${what}: the harness wrote outside the restore`);
      return 'restored';
    }
    const after = capture(dst.handle);
    if (after !== before) {
      const a = parseSnapshotYaml(before);
      const b = parseSnapshotYaml(after);
      tt.fail(`${what}: ${r.failure.message}; the destination changed: ${diffSnapshots(a, b).slice(0, 3).map((d) => `${d.register} ${d.a} -> ${d.b}`).join(', ')}`);
    }
    if (r.failure.reaction === 'refused') {
      if (io.sets() !== 0) tt.fail(`${what}: refused after ${io.sets()} writes`);
      return 'refused';
    }
    if (!r.rollback?.unchanged) tt.fail(`${what}: the rollback reports: ${r.rollback?.summary}`);
    return 'rolled back';
  } finally {
    dst.dispose();
  }
}

// --- mutations of valid files -------------------------------------------------------------------

const HEX_WIDTHS = ['"0x0"', '"0x00000000"', '"0x0000000000000000"', '"0xffffffff"', '"0xFFFFFFFF"', '0x12', '12', '"12"', '""', 'null', '[]', '{}', '"0x000000000000000000"'];

function mutate(src: SourceCase): { text: string; how: string } {
  const lines = src.text.split('\n');
  const i = int(lines.length);
  const j = int(lines.length);
  const line = lines[i] ?? '';
  const kind = int(12);
  switch (kind) {
    case 0: {
      lines.splice(i, 1);
      return { text: lines.join('\n'), how: `deleted line ${i + 1}` };
    }
    case 1:
      return { text: `${lines.slice(0, i).join('\n')}\n`, how: `truncated after line ${i}` };
    case 2: {
      const cut = int(src.text.length);
      return { text: src.text.slice(0, cut), how: `truncated at character ${cut}` };
    }
    case 3: {
      const m = /^(\s*(?:- )?[A-Za-z0-9_"]+:) (.*)$/.exec(line);
      if (!m) return { text: src.text, how: 'unchanged' };
      lines[i] = `${m[1]} ${pick(HEX_WIDTHS)}`;
      return { text: lines.join('\n'), how: `changed the value on line ${i + 1}` };
    }
    case 4: {
      // a plausible value: a random hex of the right width (KVM may refuse it, e.g. ICC_SRE_EL1 = 0)
      lines[i] = line.replace(/"0x([0-9a-f]+)"/, (_, h: string) => `"0x${Array.from({ length: h.length }, () => pick('0123456789abcdef'.split(''))).join('')}"`);
      return { text: lines.join('\n'), how: `random value on line ${i + 1}` };
    }
    case 5: {
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return { text: lines.join('\n'), how: `swapped lines ${i + 1} and ${j + 1}` };
    }
    case 6: {
      lines.splice(i, 0, line);
      return { text: lines.join('\n'), how: `duplicated line ${i + 1}` };
    }
    case 7: {
      const indent = /^(\s*)/.exec(line)?.[1] ?? '';
      lines.splice(i, 0, `${indent}${pick(['extra', 'GICD_TYPER', 'GICR_IIDR', 'ICC_AP0R3_EL1', 'GICD_IROUTER1000', 'LEVEL_INFO33', '"0"', 'spi'])}: "0x00000000"`);
      return { text: lines.join('\n'), how: `inserted a field before line ${i + 1}` };
    }
    case 8: {
      // rename a key to another register of some section
      const names = registerNames(pick(['distributor', 'redistributors', 'cpuInterfaces', 'bankedDistributor'] as const), src.model, src.nrIrqs);
      if (!names.length) return { text: src.text, how: 'unchanged' };
      lines[i] = line.replace(/^(\s*)[A-Z][A-Z0-9_]+:/, `$1${pick(names)}:`);
      return { text: lines.join('\n'), how: `renamed the key on line ${i + 1}` };
    }
    case 9: {
      const p = int(src.text.length);
      return { text: src.text.slice(0, p) + pick(['\ufeff', '\r', '\0', '\t', '\u2028', '[', '{', '&a ', '*a', '!!str ', ' #', '"', "'", ':', '- ']) + src.text.slice(p), how: `inserted a character at ${p}` };
    }
    case 10: {
      lines[i] = line.replace(/"0x([0-9a-f]+)"/, (_, h: string) => `"0x${h.slice(int(h.length))}"`);
      return { text: lines.join('\n'), how: `shortened the value on line ${i + 1}` };
    }
    default: {
      const indent = /^(\s*)/.exec(line)?.[1] ?? '';
      lines.splice(i + 1, 0, `${indent}  nested: {a: [1, {b: [2]}]}`);
      return { text: lines.join('\n'), how: `nested a collection after line ${i + 1}` };
    }
  }
}

t.test('random mutations of valid snapshots: refused whole or restored whole', (tt) => {
  for (let n = 0; n < MUTATIONS; n++) {
    const src = pick(sources);
    const { text, how } = mutate(src);
    const what = `${src.name} #${n}: ${how}`;
    const snap = parseChecked(tt, text, what);
    if (!snap) {
      outcomes['parse refused']++;
      continue;
    }
    outcomes[restoreChecked(tt, src, snap, what)]++;
  }
  tt.comment(`outcomes: ${JSON.stringify(outcomes)}`);
  tt.ok(outcomes['parse refused'] > 0 && outcomes.restored > 0 && outcomes.refused > 0, 'every path was taken');
  tt.end();
});

t.test('injected write failures at random points are rolled back', (tt) => {
  let rolledBack = 0;
  for (let n = 0; n < 24; n++) {
    const src = pick(sources);
    const failAt = 1 + int(src.vmm === 'qemu' && src.model === 'v3' ? 200 : 150);
    const r = restoreChecked(tt, src, src.snapshot, `${src.name}: failure at write ${failAt}`, failAt);
    if (r === 'rolled back') rolledBack++;
  }
  tt.ok(rolledBack > 0, `${rolledBack} restores failed part-way and were rolled back`);
  tt.end();
});

t.test('hostile YAML is refused in bounded time and memory', (tt) => {
  for (const [name, text] of hostileTexts(512 * 1024)) {
    const snap = parseChecked(tt, text, name, true);
    tt.equal(snap, null, `${name}: refused`);
  }
  tt.end();
});

t.test('hostile objects: a refusal, never an exception', (tt) => {
  const src = sources[0]!;
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const boom = (): never => {
    throw new TypeError('trap');
  };
  const throwing = new Proxy({}, { get: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom, has: boom });
  const throwsRevoked = new Proxy({}, { ownKeys: () => { throw revoked.proxy; } });
  const lying = new Proxy(JSON.parse(JSON.stringify(src.snapshot)) as object, { get: () => 'surprise' });
  const getter = { ...JSON.parse(JSON.stringify(src.snapshot)), get model(): string { throw new Error('getter'); } };
  const deepProxy = { ...JSON.parse(JSON.stringify(src.snapshot)), distributor: throwing };
  const badToString = { toString: boom, valueOf: boom };
  const inputs: Array<[string, unknown]> = [
    ['revoked Proxy', revoked.proxy],
    ['throwing traps', throwing],
    ['a trap that throws a revoked Proxy', throwsRevoked],
    ['a lying get trap (never consulted: values are read from descriptors)', lying],
    ['a throwing getter', getter],
    ['a Proxy inside', deepProxy],
    ['an object whose toString throws', badToString],
    ['a function', () => 0],
    ['a symbol', Symbol('x')],
    ['a bigint', 1n],
  ];
  for (const [name, input] of inputs) {
    const dst = createVmmMachine({ vmm: src.vmm, model: src.model, nrVcpus: src.nrVcpus, nrIrqs: src.nrIrqs, profile: 'series-p3' });
    try {
      const before = capture(dst.handle);
      let r: ReturnType<typeof restoreVgic> | undefined;
      tt.doesNotThrow(() => (r = restoreVgic(dst.handle, src.vmm, input)), `restoreVgic(${name}) does not throw`);
      if (input === lying) {
        tt.equal(r?.ok, true, `restoreVgic(${name}) restores the data the descriptors hold`);
      } else {
        tt.equal(r?.ok, false, `restoreVgic(${name}) is refused`);
        if (r && !r.ok) tt.equal(r.failure.reaction, 'refused', `${name}: ${r.failure.message}`);
        tt.equal(capture(dst.handle), before, `${name}: the destination is unchanged`);
      }
    } finally {
      dst.dispose();
    }
    if (input === lying) {
      tt.equal(stringifySnapshot(validateSnapshot(input)), src.text, 'the lying Proxy validates to a copy of its real data');
      continue;
    }
    for (const [fn, call] of [
      ['validateSnapshot', () => validateSnapshot(input)],
      ['stringifySnapshot', () => stringifySnapshot(input as VgicSnapshot)],
      ['diffSnapshots', () => diffSnapshots(input as VgicSnapshot, src.snapshot)],
      ['diffSnapshots (B)', () => diffSnapshots(src.snapshot, input as VgicSnapshot)],
      ['parseSnapshotYaml', () => parseSnapshotYaml(input as string)],
    ] as const) {
      let caught: unknown;
      try {
        call();
      } catch (e) {
        caught = e;
      }
      tt.ok(caught instanceof SnapshotError, `${fn}(${name}) refuses with a SnapshotError${caught instanceof SnapshotError ? `: ${caught.message}` : ` (got ${String(caught)})`}`);
    }
    // saveVgic with a hostile handle or options
    for (const [arg, call] of [
      ['handle', () => saveVgic(input as never, 'qemu')],
      ['options', () => saveVgic(createVmmMachine({ vmm: 'qemu', model: 'v3', nrVcpus: 1 }).handle, 'qemu', input as never)],
    ] as const) {
      let r: ReturnType<typeof saveVgic> | undefined;
      tt.doesNotThrow(() => (r = call()), `saveVgic(${arg}: ${name}) does not throw`);
      if (arg === 'handle') tt.equal(r?.ok, false, `saveVgic(${arg}: ${name}) is refused`);
    }
  }
  // A handle whose io throws part-way through the restore: the restore is rolled back.
  const dst = createVmmMachine({ vmm: src.vmm, model: src.model, nrVcpus: src.nrVcpus, nrIrqs: src.nrIrqs, profile: 'series-p3' });
  const before = capture(dst.handle);
  let sets = 0;
  const io = { get: dst.handle.io.get, set: (g: number, a: bigint, b: Parameters<typeof dst.handle.io.set>[2]) => (++sets === 50 ? (() => { throw new Error('io'); })() : dst.handle.io.set(g, a, b)) };
  let r: ReturnType<typeof restoreVgic> | undefined;
  tt.doesNotThrow(() => (r = restoreVgic({ ...dst.handle, io }, src.vmm, src.snapshot)));
  tt.equal(r?.ok, false);
  if (r && !r.ok) tt.match(r.failure.detail, /the restore stopped: Error: io/);
  tt.equal(capture(dst.handle), before, 'a throwing io: rolled back');
  dst.dispose();
  tt.end();
});

t.test('limits seen', (tt) => {
  tt.comment(`largest parse: ${maxCpu.ms.toFixed(0)} ms CPU (${maxCpu.what}); largest heap growth: ${(maxHeap.bytes / 1048576).toFixed(1)} MB (${maxHeap.what}); limits ${CPU_LIMIT_MS} ms, ${HEAP_LIMIT / 1048576} MB`);
  tt.ok(maxCpu.ms <= CPU_LIMIT_MS && maxHeap.bytes <= HEAP_LIMIT);
  tt.end();
});

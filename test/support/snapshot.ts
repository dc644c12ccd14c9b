// Test-only helpers for the snapshot tests: valid snapshots made by the real sequences, a capture
// of everything a restore can change, and a measured parse (CPU time and heap growth).

import { runInNewContext } from 'node:vm';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { cpuUsage, memoryUsage } from 'node:process';
import { type GicModel, type IidrPolicy, MAX_VCPUS, NR_IRQS_MAX, type RegisterSection, type VgicSnapshot, type VmmStyle, registerNames } from '../../lib/snapshot/schema.ts';
import { captureVgicState } from '../../lib/snapshot/vmm/backup.ts';
import type { VgicHandle } from '../../lib/snapshot/vmm/device.ts';
import { saveSource } from '../../lib/snapshot/workload.ts';
import { parseSnapshotYaml, stringifySnapshot } from '../../lib/snapshot/yaml-io.ts';

export interface SourceCase {
  readonly name: string;
  readonly vmm: VmmStyle;
  readonly model: GicModel;
  readonly nrIrqs: number;
  readonly nrVcpus: number;
  readonly policy: IidrPolicy;
  readonly snapshot: VgicSnapshot;
  readonly text: string;
}

/** One valid snapshot per VMM sequence, each after the migration workload ran on series-p3. */
export function sourceCases(): SourceCase[] {
  const specs: Array<[VmmStyle, GicModel, number, IidrPolicy]> = [
    ['qemu', 'v3', 64, 'keep'],
    ['qemu', 'v2', 64, 'none'],
    ['firecracker', 'v3', 128, 'none'],
    ['firecracker', 'v2', 128, 'rev2'],
  ];
  return specs.map(([vmm, model, nrIrqs, policy]) => {
    const { saved } = saveSource({ vmm, model, nrIrqs, nrVcpus: 2, profile: 'series-p3', workload: 'state' }, policy);
    if (!saved.ok) throw new Error(saved.failure.message);
    const text = stringifySnapshot(saved.snapshot);
    return { name: `${vmm}-${model}`, vmm, model, nrIrqs, nrVcpus: 2, policy, snapshot: parseSnapshotYaml(text), text };
  });
}

/** Everything a restore can change in `h`, as YAML text (byte-comparable). */
export function capture(h: VgicHandle): string {
  const s = captureVgicState(h);
  if (!s.ok) throw new Error(s.failure.message);
  return stringifySnapshot(s.snapshot);
}

let gcFn: (() => void) | undefined;
/** A full GC, without --expose-gc on the command line (the flag can be set at run time). */
export function collectGarbage(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

export interface Measured<T> {
  readonly result: { ok: true; value: T } | { ok: false; error: unknown };
  /** User + system CPU time of this process during the call (not wall time: load does not inflate it). */
  readonly cpuMs: number;
  /** Growth of the used heap, or of the heap V8 committed if that grew more (what a peak leaves behind). */
  readonly heapBytes: number;
}

/** Run `fn`, measuring CPU time and heap growth; `gcFirst` makes the heap figure meaningful for big inputs. */
export function measure<T>(fn: () => T, gcFirst = false): Measured<T> {
  if (gcFirst) collectGarbage();
  const used0 = memoryUsage().heapUsed;
  const total0 = getHeapStatistics().total_heap_size;
  const c0 = cpuUsage();
  let result: Measured<T>['result'];
  try {
    result = { ok: true, value: fn() };
  } catch (error) {
    result = { ok: false, error };
  }
  const c = cpuUsage(c0);
  const heapBytes = Math.max(memoryUsage().heapUsed - used0, getHeapStatistics().total_heap_size - total0, 0);
  return { result, cpuMs: (c.user + c.system) / 1000, heapBytes };
}

/** Hostile YAML texts, each `size` characters or so, every kind the reader must refuse in bounded time. */
export function hostileTexts(size: number): Array<[string, string]> {
  const fill = (unit: string): string => unit.repeat(Math.max(1, Math.floor(size / unit.length)));
  const keys = (n: number, indent: string): string => Array.from({ length: n }, (_, i) => `${indent}GICD_X${i}: "0x00000000"\n`).join('');
  return [
    ['nested [', fill('[')],
    ['nested {', fill('{')],
    ['nested - ', fill('- ')],
    ['nested ? ', fill('? ')],
    ['nested a: ', fill('a: ')],
    ['indented mappings', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:\n`).join('')],
    ['20000 keys in one mapping', `distributor:\n${keys(20000, '  ')}`],
    ['keys at the root', fill('a: b\n')],
    ['blank lines', fill('\n')],
    ['one huge quoted scalar', `vgicSnapshot: "${fill('x')}"\n`],
    ['one huge plain multi-line scalar', `vgicSnapshot: x\n${fill('  x\n')}`],
    ['a long flow list', `vcpus: [${fill('a,')}]\n`],
    ['an empty flow list', `vcpus: [${fill(',')}]\n`],
    ['spaces', `vgicSnapshot: ${fill(' ')}1\n`],
    ['a comment', `# ${fill('x')}\n`],
    ['aliases', ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]'].join('\n')],
    ['documents', fill('---\n')],
    ['two byte order marks', '\ufeff\ufeffvgicSnapshot: 1\n'],
    ['CR-only line ends', 'vgicSnapshot: 1\rmodel: "v3"\r'],
    ['NUL bytes', `vgicSnapshot: 1\n${fill('\0')}`],
  ];
}

/**
 * The largest valid snapshot: GICv3, 512 vCPUs, nr_irqs 992, every register name of every
 * section (limits.ts MAX_DOCUMENT_KEYS keys), all zero.
 */
export function largestSnapshot(): VgicSnapshot {
  const is64 = (n: string): boolean => /^(ICC_|GICD_IROUTER|GICR_TYPER|GICR_PROPBASER|GICR_PENDBASER)/.test(n);
  const zeros = (section: RegisterSection): Record<string, string> =>
    Object.fromEntries(registerNames(section, 'v3', NR_IRQS_MAX).map((n) => [n, is64(n) ? '0x0000000000000000' : '0x00000000']));
  const vcpus = Array.from({ length: MAX_VCPUS.v3 }, (_, i) => ({ id: i, mpidr: `0x${(((i >> 4) << 8) | (i & 15)).toString(16).padStart(8, '0')}` }));
  const perVcpu = (section: RegisterSection): Record<string, Record<string, string>> => Object.fromEntries(vcpus.map((v) => [String(v.id), zeros(section)]));
  return {
    vgicSnapshot: 1,
    source: { profile: 'series-p3', vmm: 'qemu', iidrPolicy: 'none' },
    model: 'v3',
    nrIrqs: NR_IRQS_MAX,
    vcpus,
    distributor: zeros('distributor'),
    redistributors: perVcpu('redistributors'),
    cpuInterfaces: perVcpu('cpuInterfaces'),
    levelInfo: { ...perVcpu('levelInfoVcpu'), spi: zeros('levelInfoSpi') },
  };
}

/** A CliIo that keeps what the CLI printed. */
export function captureIo(): { stdout(text: string): void; stderr(text: string): void; out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout(text: string) {
      io.out += text;
    },
    stderr(text: string) {
      io.err += text;
    },
  };
  return io;
}

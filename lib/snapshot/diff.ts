// Register-by-register comparison of two (validated) vGIC snapshots.

import { type RegisterMap, type VgicSnapshot, validateSnapshot } from './schema.ts';

/** Placeholder value for a field or register present on one side only. */
export const MISSING = 'missing';

export type DiffSection =
  | 'header'
  | 'vcpus'
  | 'distributor'
  | 'redistributors'
  | 'bankedDistributor'
  | 'cpuInterfaces'
  | 'levelInfo';

export interface SnapshotDiff {
  readonly section: DiffSection;
  /** vCPU id (or "spi" for levelInfo) for per-vCPU sections and vcpus; absent otherwise. */
  readonly vcpu?: string;
  /** Register name, or the header field path (e.g. "source.profile"), or "mpidr" for vcpus. */
  readonly register: string;
  /** Value in A / B, or MISSING. */
  readonly a: string;
  readonly b: string;
}

const PER_VCPU_SECTIONS = ['redistributors', 'bankedDistributor', 'cpuInterfaces', 'levelInfo'] as const;
type PerVcpuSection = (typeof PER_VCPU_SECTIONS)[number];

/** Keys of a, then keys only in b, each in its own order. */
function unionKeys(a: readonly string[], b: readonly string[]): string[] {
  const inA = new Set(a);
  return [...a, ...b.filter((k) => !inA.has(k))];
}

function get(map: Readonly<Record<string, string>> | undefined, key: string): string {
  return map !== undefined && Object.prototype.hasOwnProperty.call(map, key) ? (map[key] as string) : MISSING;
}

function diffMaps(
  out: SnapshotDiff[],
  section: DiffSection,
  vcpu: string | undefined,
  a: RegisterMap | undefined,
  b: RegisterMap | undefined,
): void {
  for (const name of unionKeys(Object.keys(a ?? {}), Object.keys(b ?? {}))) {
    const va = get(a, name);
    const vb = get(b, name);
    if (va === vb) continue;
    out.push(vcpu === undefined ? { section, register: name, a: va, b: vb } : { section, vcpu, register: name, a: va, b: vb });
  }
}

function perVcpu(s: VgicSnapshot, section: PerVcpuSection): Record<string, RegisterMap> | undefined {
  return (s as unknown as Partial<Record<PerVcpuSection, Record<string, RegisterMap>>>)[section];
}

/**
 * Every difference between two snapshots: header fields first, then vCPUs, distributor and the
 * per-vCPU sections; registers in A's order followed by those only in B. Both are validated first
 * (they may come from anywhere): an invalid or hostile input throws SnapshotError, nothing else.
 */
export function diffSnapshots(inputA: VgicSnapshot, inputB: VgicSnapshot): SnapshotDiff[] {
  const a = validateSnapshot(inputA);
  const b = validateSnapshot(inputB);
  const out: SnapshotDiff[] = [];
  const header: Array<[string, unknown, unknown]> = [
    ['vgicSnapshot', a.vgicSnapshot, b.vgicSnapshot],
    ['source.profile', a.source.profile, b.source.profile],
    ['source.vmm', a.source.vmm, b.source.vmm],
    ['source.iidrPolicy', a.source.iidrPolicy, b.source.iidrPolicy],
    ['model', a.model, b.model],
    ['nrIrqs', a.nrIrqs, b.nrIrqs],
  ];
  for (const [register, va, vb] of header) {
    if (va !== vb) out.push({ section: 'header', register, a: String(va), b: String(vb) });
  }

  const mpA = new Map(a.vcpus.map((c) => [String(c.id), c.mpidr]));
  const mpB = new Map(b.vcpus.map((c) => [String(c.id), c.mpidr]));
  for (const id of unionKeys([...mpA.keys()], [...mpB.keys()])) {
    const va = mpA.get(id) ?? MISSING;
    const vb = mpB.get(id) ?? MISSING;
    if (va !== vb) out.push({ section: 'vcpus', vcpu: id, register: 'mpidr', a: va, b: vb });
  }

  diffMaps(out, 'distributor', undefined, a.distributor, b.distributor);

  for (const section of PER_VCPU_SECTIONS) {
    const sa = perVcpu(a, section);
    const sb = perVcpu(b, section);
    for (const key of unionKeys(Object.keys(sa ?? {}), Object.keys(sb ?? {}))) {
      diffMaps(out, section, key, sa?.[key], sb?.[key]);
    }
  }
  return out;
}

/** One line for one difference, e.g. `distributor GICD_IGROUPR1: 0x5a5a5a5a -> 0x00000000`. */
export function formatDiffLine(d: SnapshotDiff): string {
  const change = `${d.a} -> ${d.b}`;
  switch (d.section) {
    case 'header':
      return `${d.register}: ${change}`;
    case 'distributor':
      return `distributor ${d.register}: ${change}`;
    default:
      return `${d.section}[${d.vcpu ?? '?'}] ${d.register}: ${change}`;
  }
}

/** Human-readable differences, one line each ('' when there are none). */
export function formatDiff(diffs: readonly SnapshotDiff[]): string {
  return diffs.map(formatDiffLine).join('\n');
}

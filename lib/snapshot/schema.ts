// vGIC snapshot document: TypeScript types and a strict, hand-written validator.
//
// A snapshot is what a VMM-style save sequence (lib/snapshot consumers: the QEMU / Firecracker
// sequence tables) read from the vGIC through the KVM device-attribute API, in named, readable
// form. Document shape (schema version 1), fields in this order:
//
//   vgicSnapshot: 1                    schema version; anything else is refused
//   source:
//     profile: "series-p3"             host-kernel profile the VM ran on, [a-z0-9._-]{1,40}
//     vmm: "qemu"                      qemu | firecracker (which save/restore sequence produced it)
//     iidrPolicy: "none"               none | keep | rev1 | rev2 | rev3 (GICD_IIDR written on restore)
//   model: "v3"                        v2 | v3
//   nrIrqs: 128                        KVM_DEV_ARM_VGIC_GRP_NR_IRQS: 64..992, multiple of 32
//   vcpus:                             1..512 (v3) / 1..8 (v2), unique ids and MPIDRs
//     - id: 0                          vCPU id (0..511 for v3, 0..7 for v2)
//       mpidr: "0x00000000"            Aff3:Aff2:Aff1:Aff0 packed as in the KVM attr upper word
//   distributor: {GICD_*: hex}         shared state only (INTIDs >= 32 for per-IRQ registers)
//   redistributors: {"<id>": {GICR_*}} v3 only, one map per vCPU (required, every vCPU)
//   bankedDistributor: {"<id>": {GICD_*}}  v2 only, optional: banked INTID 0..31 words per vCPU
//   cpuInterfaces: {"<id>": {...}}     ICC_*_EL1 (v3, 64-bit) or GICC_* (v2, 32-bit), every vCPU
//   levelInfo: {"<id>"|"spi": {LEVEL_INFO<vINTID>: hex}}  v3 only, optional (QEMU saves it)
//
// Register names are <NAME><index>: the word index for bitmap/byte/2-bit registers
// (GICD_ISENABLER1 = INTIDs 32..63), the INTID for GICD_IROUTER<intid>, the vINTID base for
// LEVEL_INFO<n>. 32-bit values are "0x" + 8 lowercase hex digits, 64-bit values (GICD_IROUTER*,
// GICR_TYPER/PROPBASER/PENDBASER, every ICC_* sysreg) "0x" + 16. Values are exactly what the VMM
// sequence read (e.g. QEMU's IROUTER quirk is preserved as QEMU sees it).
//
// Register maps keep the producer's insertion order; producers should insert registers in a
// canonical order (the order of the VMM's save sequence, or `sortRegisterMap` = ascending offset)
// so that save -> restore -> save yields byte-identical files.

import { describeThrown as describeThrownValue } from '../kvm/thrown.ts';

export const SNAPSHOT_VERSION = 1;

export const VMM_STYLES = ['qemu', 'firecracker'] as const;
export type VmmStyle = (typeof VMM_STYLES)[number];

export const IIDR_POLICIES = ['none', 'keep', 'rev1', 'rev2', 'rev3'] as const;
export type IidrPolicy = (typeof IIDR_POLICIES)[number];

export const GIC_MODELS = ['v2', 'v3'] as const;
export type GicModel = (typeof GIC_MODELS)[number];

/** KVM: NR_IRQS < 64, > 1023 (VGIC_MAX_RESERVED) or not a multiple of 32 is EINVAL. */
export const NR_IRQS_MIN = 64;
export const NR_IRQS_MAX = 992;
export const MAX_VCPUS: Readonly<Record<GicModel, number>> = { v2: 8, v3: 512 };
export const MAX_VCPU_ID: Readonly<Record<GicModel, number>> = { v2: 7, v3: 511 };

export const PROFILE_PATTERN = /^[a-z0-9._-]{1,40}$/; // dots: profiles named after kernels (linux-6.1.164)
/** Generic register-name shape; each section accepts only its own, narrower set. */
export const REGISTER_NAME_PATTERN = /^(GICD|GICR|GICC|ICC|ICH|LEVEL_INFO)_?[A-Z0-9_]+$/;
const HEX32 = /^0x[0-9a-f]{8}$/;
const HEX64 = /^0x[0-9a-f]{16}$/;
const DECIMAL_ID = /^(0|[1-9][0-9]*)$/;
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Register name -> hex string, in the producer's (canonical) order. */
export type RegisterMap = Record<string, string>;
/** Decimal vCPU id -> register map. */
export type PerVcpuRegisters = Record<string, RegisterMap>;

export interface SnapshotSource {
  profile: string;
  vmm: VmmStyle;
  iidrPolicy: IidrPolicy;
}

export interface SnapshotVcpu {
  id: number;
  mpidr: string;
}

interface SnapshotCommon {
  vgicSnapshot: typeof SNAPSHOT_VERSION;
  source: SnapshotSource;
  nrIrqs: number;
  vcpus: SnapshotVcpu[];
  distributor: RegisterMap;
  cpuInterfaces: PerVcpuRegisters;
}

export interface VgicSnapshotV3 extends SnapshotCommon {
  model: 'v3';
  redistributors: PerVcpuRegisters;
  /** Keys: vCPU ids (PPIs: LEVEL_INFO0 only) and "spi" (LEVEL_INFO32, LEVEL_INFO64, ...). */
  levelInfo?: Record<string, RegisterMap>;
}

export interface VgicSnapshotV2 extends SnapshotCommon {
  model: 'v2';
  bankedDistributor?: PerVcpuRegisters;
}

export type VgicSnapshot = VgicSnapshotV2 | VgicSnapshotV3;

/** Top-level fields in output order. */
export const SNAPSHOT_FIELDS = [
  'vgicSnapshot',
  'source',
  'model',
  'nrIrqs',
  'vcpus',
  'distributor',
  'redistributors',
  'bankedDistributor',
  'cpuInterfaces',
  'levelInfo',
] as const;

const COMMON_FIELDS = ['vgicSnapshot', 'source', 'model', 'nrIrqs', 'vcpus', 'distributor', 'cpuInterfaces'];
const MODEL_FIELDS: Readonly<Record<GicModel, { required: string[]; optional: string[] }>> = {
  v3: { required: ['redistributors'], optional: ['levelInfo'] },
  v2: { required: [], optional: ['bankedDistributor'] },
};

/** Any violation of the snapshot format. `path` names the offending field ('' for the root). */
export class SnapshotError extends Error {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(path === '' ? reason : `${path}: ${reason}`);
    this.name = 'SnapshotError';
    this.path = path;
    this.reason = reason;
  }
}

/** Append a key to a dotted path; odd keys are JSON-quoted in brackets. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (/^[A-Za-z0-9_]+$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

// ---------------------------------------------------------------------------------------------
// Register families

export type RegisterSection =
  | 'distributor'
  | 'redistributors'
  | 'bankedDistributor'
  | 'cpuInterfaces'
  | 'levelInfoVcpu'
  | 'levelInfoSpi';

interface RegFamily {
  /** name = base + index (if indexed) + suffix */
  readonly base: string;
  readonly suffix: string;
  readonly indexed: boolean;
  /** Attribute offset (or sysreg encoding / vINTID) of index 0, and the step per index. */
  readonly offset: number;
  readonly stride: number;
  readonly width: 32 | 64;
  /** Inclusive index range for a given nr_irqs. */
  readonly range: (nrIrqs: number) => readonly [number, number];
  /** Index must be a multiple of this. */
  readonly step: number;
}

export interface RegisterInfo {
  readonly name: string;
  readonly offset: number;
  readonly width: 32 | 64;
}

const one = (): readonly [number, number] => [0, 0];

function simple(base: string, offset: number, width: 32 | 64 = 32, suffix = ''): RegFamily {
  return { base, suffix, indexed: false, offset, stride: 0, width, range: one, step: 1 };
}

/** Per-IRQ register, `bits` bits per INTID, words covering INTIDs [first, last(nrIrqs)]. */
function perIrq(base: string, offset: number, bits: number, scope: 'shared' | 'private'): RegFamily {
  const perWord = 32 / bits;
  const range =
    scope === 'shared'
      ? (nr: number): readonly [number, number] => [32 / perWord, nr / perWord - 1]
      : (): readonly [number, number] => [0, 32 / perWord - 1];
  return { base, suffix: '', indexed: true, offset, stride: 4, width: 32, range, step: 1 };
}

function indexed(
  base: string,
  offset: number,
  stride: number,
  lo: number,
  hi: number,
  width: 32 | 64 = 32,
  suffix = '',
): RegFamily {
  return { base, suffix, indexed: true, offset, stride, width, range: () => [lo, hi], step: 1 };
}

/** KVM_DEV_ARM_VGIC_SYSREG(op0, op1, crn, crm, op2) */
function sysreg(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

const SGI_BASE = 0x10000;

const DIST_V3: readonly RegFamily[] = [
  simple('GICD_CTLR', 0x0000),
  simple('GICD_TYPER', 0x0004),
  simple('GICD_IIDR', 0x0008),
  simple('GICD_TYPER2', 0x000c),
  simple('GICD_STATUSR', 0x0010),
  perIrq('GICD_IGROUPR', 0x0080, 1, 'shared'),
  perIrq('GICD_ISENABLER', 0x0100, 1, 'shared'),
  perIrq('GICD_ICENABLER', 0x0180, 1, 'shared'),
  perIrq('GICD_ISPENDR', 0x0200, 1, 'shared'),
  perIrq('GICD_ICPENDR', 0x0280, 1, 'shared'),
  perIrq('GICD_ISACTIVER', 0x0300, 1, 'shared'),
  perIrq('GICD_ICACTIVER', 0x0380, 1, 'shared'),
  perIrq('GICD_IPRIORITYR', 0x0400, 8, 'shared'),
  perIrq('GICD_ICFGR', 0x0c00, 2, 'shared'),
  perIrq('GICD_IGRPMODR', 0x0d00, 1, 'shared'),
  perIrq('GICD_NSACR', 0x0e00, 2, 'shared'),
  {
    base: 'GICD_IROUTER',
    suffix: '',
    indexed: true,
    offset: 0x6000,
    stride: 8,
    width: 64,
    range: (nr) => [32, nr - 1],
    step: 1,
  },
];

const DIST_V2: readonly RegFamily[] = [
  simple('GICD_CTLR', 0x000),
  simple('GICD_TYPER', 0x004),
  simple('GICD_IIDR', 0x008),
  perIrq('GICD_IGROUPR', 0x080, 1, 'shared'),
  perIrq('GICD_ISENABLER', 0x100, 1, 'shared'),
  perIrq('GICD_ICENABLER', 0x180, 1, 'shared'),
  perIrq('GICD_ISPENDR', 0x200, 1, 'shared'),
  perIrq('GICD_ICPENDR', 0x280, 1, 'shared'),
  perIrq('GICD_ISACTIVER', 0x300, 1, 'shared'),
  perIrq('GICD_ICACTIVER', 0x380, 1, 'shared'),
  perIrq('GICD_IPRIORITYR', 0x400, 8, 'shared'),
  perIrq('GICD_ITARGETSR', 0x800, 8, 'shared'),
  perIrq('GICD_ICFGR', 0xc00, 2, 'shared'),
];

const BANKED_V2: readonly RegFamily[] = [
  perIrq('GICD_IGROUPR', 0x080, 1, 'private'),
  perIrq('GICD_ISENABLER', 0x100, 1, 'private'),
  perIrq('GICD_ICENABLER', 0x180, 1, 'private'),
  perIrq('GICD_ISPENDR', 0x200, 1, 'private'),
  perIrq('GICD_ICPENDR', 0x280, 1, 'private'),
  perIrq('GICD_ISACTIVER', 0x300, 1, 'private'),
  perIrq('GICD_ICACTIVER', 0x380, 1, 'private'),
  perIrq('GICD_IPRIORITYR', 0x400, 8, 'private'),
  perIrq('GICD_ITARGETSR', 0x800, 8, 'private'),
  perIrq('GICD_ICFGR', 0xc00, 2, 'private'),
  indexed('GICD_CPENDSGIR', 0xf10, 4, 0, 3),
  indexed('GICD_SPENDSGIR', 0xf20, 4, 0, 3),
];

const REDIST_V3: readonly RegFamily[] = [
  simple('GICR_CTLR', 0x0000),
  simple('GICR_IIDR', 0x0004),
  simple('GICR_TYPER', 0x0008, 64),
  simple('GICR_STATUSR', 0x0010),
  simple('GICR_WAKER', 0x0014),
  simple('GICR_PROPBASER', 0x0070, 64),
  simple('GICR_PENDBASER', 0x0078, 64),
  indexed('GICR_IGROUPR', SGI_BASE + 0x0080, 4, 0, 0),
  indexed('GICR_ISENABLER', SGI_BASE + 0x0100, 4, 0, 0),
  indexed('GICR_ICENABLER', SGI_BASE + 0x0180, 4, 0, 0),
  indexed('GICR_ISPENDR', SGI_BASE + 0x0200, 4, 0, 0),
  indexed('GICR_ICPENDR', SGI_BASE + 0x0280, 4, 0, 0),
  indexed('GICR_ISACTIVER', SGI_BASE + 0x0300, 4, 0, 0),
  indexed('GICR_ICACTIVER', SGI_BASE + 0x0380, 4, 0, 0),
  indexed('GICR_IPRIORITYR', SGI_BASE + 0x0400, 4, 0, 7),
  indexed('GICR_ICFGR', SGI_BASE + 0x0c00, 4, 0, 1),
  indexed('GICR_IGRPMODR', SGI_BASE + 0x0d00, 4, 0, 0),
  simple('GICR_NSACR', SGI_BASE + 0x0e00),
];

const CPUIF_V3: readonly RegFamily[] = [
  simple('ICC_PMR_EL1', sysreg(3, 0, 4, 6, 0), 64),
  simple('ICC_BPR0_EL1', sysreg(3, 0, 12, 8, 3), 64),
  indexed('ICC_AP0R', sysreg(3, 0, 12, 8, 4), 1, 0, 3, 64, '_EL1'),
  indexed('ICC_AP1R', sysreg(3, 0, 12, 9, 0), 1, 0, 3, 64, '_EL1'),
  simple('ICC_BPR1_EL1', sysreg(3, 0, 12, 12, 3), 64),
  simple('ICC_CTLR_EL1', sysreg(3, 0, 12, 12, 4), 64),
  simple('ICC_SRE_EL1', sysreg(3, 0, 12, 12, 5), 64),
  simple('ICC_IGRPEN0_EL1', sysreg(3, 0, 12, 12, 6), 64),
  simple('ICC_IGRPEN1_EL1', sysreg(3, 0, 12, 12, 7), 64),
];

const CPUIF_V2: readonly RegFamily[] = [
  simple('GICC_CTLR', 0x00),
  simple('GICC_PMR', 0x04),
  simple('GICC_BPR', 0x08),
  simple('GICC_ABPR', 0x1c),
  indexed('GICC_APR', 0xd0, 4, 0, 3),
  simple('GICC_IIDR', 0xfc),
];

const LEVEL_VCPU: readonly RegFamily[] = [indexed('LEVEL_INFO', 0, 1, 0, 0)];
const LEVEL_SPI: readonly RegFamily[] = [
  { base: 'LEVEL_INFO', suffix: '', indexed: true, offset: 0, stride: 1, width: 32, range: (nr) => [32, nr - 32], step: 32 },
];

function familiesFor(section: RegisterSection, model: GicModel): readonly RegFamily[] {
  switch (section) {
    case 'distributor':
      return model === 'v3' ? DIST_V3 : DIST_V2;
    case 'redistributors':
      return model === 'v3' ? REDIST_V3 : [];
    case 'bankedDistributor':
      return model === 'v2' ? BANKED_V2 : [];
    case 'cpuInterfaces':
      return model === 'v3' ? CPUIF_V3 : CPUIF_V2;
    case 'levelInfoVcpu':
      return model === 'v3' ? LEVEL_VCPU : [];
    case 'levelInfoSpi':
      return model === 'v3' ? LEVEL_SPI : [];
  }
}

const INDEXED_NAME = /^(.*?[A-Z_])(0|[1-9][0-9]*)(_EL[12])?$/;

/**
 * Look a register name up in a section: its attribute offset (sysreg encoding for ICC_*, vINTID
 * for LEVEL_INFO) and width, or a reason why the name is not acceptable there.
 */
export function lookupRegister(
  section: RegisterSection,
  model: GicModel,
  nrIrqs: number,
  name: string,
): RegisterInfo | string {
  if (!REGISTER_NAME_PATTERN.test(name)) return 'not a register name';
  const families = familiesFor(section, model);
  for (const f of families) {
    if (!f.indexed && f.base + f.suffix === name) return { name, offset: f.offset, width: f.width };
  }
  const m = INDEXED_NAME.exec(name);
  if (m) {
    const base = m[1] as string;
    const index = Number(m[2]);
    const suffix = m[3] ?? '';
    for (const f of families) {
      if (!f.indexed || f.base !== base || f.suffix !== suffix) continue;
      const [lo, hi] = f.range(nrIrqs);
      if (index < lo || index > hi || index % f.step !== 0) {
        const steps = f.step === 1 ? '' : ` in steps of ${f.step}`;
        const span = lo > hi ? 'no index is valid' : `valid: ${lo}..${hi}${steps}`;
        return `index ${index} out of range for ${base}${suffix ? `<n>${suffix}` : ''} with nrIrqs ${nrIrqs} (${span})`;
      }
      return { name, offset: f.offset + index * f.stride, width: f.width };
    }
  }
  return `unknown register for ${section} (GIC ${model})`;
}

/** Every register name `section` accepts for a GIC `model` with `nrIrqs` interrupts, in family order. */
export function registerNames(section: RegisterSection, model: GicModel, nrIrqs: number = NR_IRQS_MAX): string[] {
  const out: string[] = [];
  for (const f of familiesFor(section, model)) {
    if (!f.indexed) {
      out.push(f.base + f.suffix);
      continue;
    }
    const [lo, hi] = f.range(nrIrqs);
    for (let i = lo; i <= hi; i++) if (i % f.step === 0) out.push(`${f.base}${i}${f.suffix}`);
  }
  return out;
}

/**
 * How many distinct register names `section` accepts for a GIC `model` with `nrIrqs` interrupts:
 * the most a valid register map can hold (every name once). The YAML reader and the validator
 * refuse bigger maps with this number, so the work per map is bounded by the schema.
 */
export function maxRegisterCount(section: RegisterSection, model: GicModel, nrIrqs: number = NR_IRQS_MAX): number {
  const key = `${section}/${model}/${nrIrqs}`;
  let n = registerCounts.get(key);
  if (n === undefined) registerCounts.set(key, (n = registerNames(section, model, nrIrqs).length));
  return n;
}
const registerCounts = new Map<string, number>();

/** A copy of `map` ordered by ascending attribute offset (a canonical producer order). */
export function sortRegisterMap(
  section: RegisterSection,
  model: GicModel,
  nrIrqs: number,
  map: RegisterMap,
): RegisterMap {
  const entries = Object.keys(map).map((name) => {
    const info = lookupRegister(section, model, nrIrqs, name);
    if (typeof info === 'string') throw new SnapshotError(name, info);
    return { name, offset: info.offset };
  });
  entries.sort((x, y) => x.offset - y.offset);
  const out: RegisterMap = Object.create(null) as RegisterMap;
  for (const e of entries) out[e.name] = map[e.name] as string;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation helpers
//
// The input is untrusted and may be hostile: a Proxy whose traps throw or lie, a revoked Proxy,
// getters, symbols, odd prototypes. Every reflective read goes through `guarded`, each property
// is read once (from its descriptor, never through a second [[Get]]), and only validated
// primitives reach the returned copy, so validateSnapshot throws nothing but SnapshotError.

function describe(x: unknown): string {
  try {
    if (x === null) return 'null';
    if (x === undefined) return 'nothing';
    if (typeof x === 'number') return `number ${x}`;
    if (typeof x === 'string') return `string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x)}`;
    if (typeof x === 'object') return Array.isArray(x) ? 'a list' : 'a mapping';
    return typeof x;
  } catch {
    return 'an unreadable object';
  }
}

/** What was thrown, in one line, as the vCPU's guest aborts describe it (lib/kvm/thrown.ts: never
 * runs a Proxy trap or a getter it does not guard). */
export function describeThrown(e: unknown): string {
  return describeThrownValue(e).text;
}

/** Run a reflective read of an untrusted value; anything it throws becomes a SnapshotError at `path`. */
function guarded<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(path, `could not be read (${describeThrown(e)}); only plain data is accepted`);
  }
}

/** A plain data object's own properties, read once: keys in their order and their values. */
interface PlainObject {
  readonly keys: readonly string[];
  readonly values: ReadonlyMap<string, unknown>;
}

function plainObject(x: unknown, path: string, maxKeys: number, what: () => string): PlainObject {
  return guarded(path, () => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      throw new SnapshotError(path, `expected a mapping, got ${describe(x)}`);
    }
    const proto: unknown = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) {
      throw new SnapshotError(path, 'expected a plain mapping, got an object with a custom prototype');
    }
    if (Object.getOwnPropertySymbols(x).length > 0) {
      throw new SnapshotError(path, 'symbol-keyed properties are not allowed');
    }
    const keys = Object.getOwnPropertyNames(x);
    if (keys.length > maxKeys) throw new SnapshotError(path, `${keys.length} entries, ${what()}`);
    const values = new Map<string, unknown>();
    for (const key of keys) {
      if (typeof key !== 'string') throw new SnapshotError(path, 'only string keys are allowed');
      if (FORBIDDEN_KEYS.has(key)) {
        throw new SnapshotError(joinPath(path, key), `forbidden key ${JSON.stringify(key)}`);
      }
      if (values.has(key)) throw new SnapshotError(joinPath(path, key), 'duplicate key');
      const d = Object.getOwnPropertyDescriptor(x, key);
      if (!d || !('value' in d) || !d.enumerable) {
        throw new SnapshotError(joinPath(path, key), 'only plain enumerable data properties are allowed');
      }
      values.set(key, d.value);
    }
    return { keys, values };
  });
}

/** A plain list's elements, read once (length and each element's descriptor). */
function plainList(x: unknown, path: string, min: number, max: number, what: string): unknown[] {
  return guarded(path, () => {
    if (!Array.isArray(x)) throw new SnapshotError(path, `expected a list, got ${describe(x)}`);
    if (Object.getPrototypeOf(x) !== Array.prototype) throw new SnapshotError(path, 'expected a plain list');
    const d = Object.getOwnPropertyDescriptor(x, 'length');
    const length: unknown = d && 'value' in d ? d.value : undefined;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new SnapshotError(path, 'expected a plain list');
    }
    if (length < min || length > max) throw new SnapshotError(path, `${what}, got ${length}`);
    const out: unknown[] = [];
    for (let i = 0; i < length; i++) {
      const e = Object.getOwnPropertyDescriptor(x, i);
      if (!e) throw new SnapshotError(joinPath(path, i), 'missing list element');
      if (!('value' in e) || !e.enumerable) throw new SnapshotError(joinPath(path, i), 'only plain data elements are allowed');
      out.push(e.value);
    }
    return out;
  });
}

/**
 * Slack on every mapping's key count: a mapping with more keys than the schema allows plus this
 * is refused on its count alone (bounded work); below that, the first bad key is named.
 */
export const MAX_FIXED_FIELDS = 64;

function checkFields(keys: readonly string[], path: string, required: readonly string[], optional: readonly string[]): void {
  for (const key of keys) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw new SnapshotError(joinPath(path, key), 'unknown field');
    }
  }
  for (const key of required) {
    if (!keys.includes(key)) {
      throw new SnapshotError(joinPath(path, key), 'missing required field');
    }
  }
}

function expectEnum<T extends string>(x: unknown, allowed: readonly T[], path: string): T {
  if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
    throw new SnapshotError(path, `expected one of ${allowed.join(', ')}, got ${describe(x)}`);
  }
  return x as T;
}

function expectInteger(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x)) {
    throw new SnapshotError(path, `expected an integer, got ${describe(x)}`);
  }
  return x;
}

export function hexReason(x: unknown, width: 32 | 64): string | undefined {
  const re = width === 32 ? HEX32 : HEX64;
  if (typeof x === 'string' && re.test(x)) return undefined;
  const digits = width / 4;
  const hint = typeof x === 'number' ? ' (quote hex values in YAML)' : '';
  return `expected 0x + ${digits} hex digits (${width}-bit, lowercase string), got ${describe(x)}${hint}`;
}

function expectHex(x: unknown, width: 32 | 64, path: string): string {
  const reason = hexReason(x, width);
  if (reason !== undefined) throw new SnapshotError(path, reason);
  return x as string;
}

function validateRegisterMap(
  x: unknown,
  path: string,
  section: RegisterSection,
  model: GicModel,
  nrIrqs: number,
): RegisterMap {
  const max = maxRegisterCount(section, model, nrIrqs);
  const o = plainObject(x, path, max + MAX_FIXED_FIELDS, () => `but this section has at most ${max} registers for GIC ${model} with nrIrqs ${nrIrqs}`);
  const out: RegisterMap = Object.create(null) as RegisterMap;
  for (const name of o.keys) {
    const p = joinPath(path, name);
    const info = lookupRegister(section, model, nrIrqs, name);
    if (typeof info === 'string') throw new SnapshotError(p, info);
    out[name] = expectHex(o.values.get(name), info.width, p);
  }
  return out;
}

/** Per-vCPU section: keys are decimal vCPU ids (plus "spi" when allowed). */
function validatePerVcpu(
  x: unknown,
  path: string,
  ids: ReadonlySet<number>,
  opts: { requireAll: boolean; section: RegisterSection; spiSection?: RegisterSection },
  model: GicModel,
  nrIrqs: number,
): PerVcpuRegisters {
  const spi = opts.spiSection !== undefined;
  const most = ids.size + (spi ? 1 : 0);
  const o = plainObject(x, path, most + MAX_FIXED_FIELDS, () => `but there can be at most ${most} (one per listed vCPU${spi ? ', and "spi"' : ''})`);
  const out: PerVcpuRegisters = Object.create(null) as PerVcpuRegisters;
  const seen = new Set<number>();
  for (const key of o.keys) {
    const p = joinPath(path, key);
    if (opts.spiSection !== undefined && key === 'spi') {
      out[key] = validateRegisterMap(o.values.get(key), p, opts.spiSection, model, nrIrqs);
      continue;
    }
    if (!DECIMAL_ID.test(key)) {
      throw new SnapshotError(p, `key must be a vCPU id in decimal${spi ? ' or "spi"' : ''}`);
    }
    const id = Number(key);
    if (!ids.has(id)) throw new SnapshotError(p, `vCPU ${id} is not listed in vcpus`);
    seen.add(id);
    out[key] = validateRegisterMap(o.values.get(key), p, opts.section, model, nrIrqs);
  }
  if (opts.requireAll) {
    for (const id of ids) {
      if (!seen.has(id)) throw new SnapshotError(joinPath(path, String(id)), 'missing register map for this vCPU');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Validate an untrusted document (e.g. from YAML or JSON, or any JavaScript value) and return a
 * fresh deep copy built only from validated fields. Throws SnapshotError naming the path and the
 * reason on any violation, and nothing else (hostile objects included).
 */
export function validateSnapshot(doc: unknown): VgicSnapshot {
  try {
    return validateDocument(doc);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError('', `could not be validated (${describeThrown(e)})`);
  }
}

function validateDocument(doc: unknown): VgicSnapshot {
  const root = plainObject(doc, '', MAX_FIXED_FIELDS, () => `but a snapshot has at most ${SNAPSHOT_FIELDS.length} top-level fields`);
  const rootKeys = root.keys;
  const get = (key: string): unknown => root.values.get(key);

  if (!rootKeys.includes('vgicSnapshot')) {
    throw new SnapshotError('vgicSnapshot', 'missing required field (schema version)');
  }
  const version = get('vgicSnapshot');
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotError('vgicSnapshot', `unsupported schema version ${describe(version)} (this reader understands ${SNAPSHOT_VERSION})`);
  }
  if (!rootKeys.includes('model')) throw new SnapshotError('model', 'missing required field');
  const model = expectEnum(get('model'), GIC_MODELS, 'model');
  const { required, optional } = MODEL_FIELDS[model];
  checkFields(rootKeys, '', [...COMMON_FIELDS, ...required], optional);

  // source
  const src = plainObject(get('source'), 'source', MAX_FIXED_FIELDS, () => 'but source has 3 fields');
  checkFields(src.keys, 'source', ['profile', 'vmm', 'iidrPolicy'], []);
  const profile = src.values.get('profile');
  if (typeof profile !== 'string' || !PROFILE_PATTERN.test(profile)) {
    throw new SnapshotError('source.profile', `expected 1..40 characters of [a-z0-9._-], got ${describe(profile)}`);
  }
  const source: SnapshotSource = {
    profile,
    vmm: expectEnum(src.values.get('vmm'), VMM_STYLES, 'source.vmm'),
    iidrPolicy: expectEnum(src.values.get('iidrPolicy'), IIDR_POLICIES, 'source.iidrPolicy'),
  };

  // nrIrqs
  const nrIrqs = expectInteger(get('nrIrqs'), 'nrIrqs');
  if (nrIrqs < NR_IRQS_MIN || nrIrqs > NR_IRQS_MAX || nrIrqs % 32 !== 0) {
    throw new SnapshotError(
      'nrIrqs',
      `${nrIrqs} is not accepted by KVM (multiple of 32 in ${NR_IRQS_MIN}..${NR_IRQS_MAX}; values above 1023 are EINVAL)`,
    );
  }

  // vcpus
  const maxVcpus = MAX_VCPUS[model];
  const vcpusRaw = plainList(get('vcpus'), 'vcpus', 1, maxVcpus, `GIC ${model} needs 1..${maxVcpus} vCPUs`);
  const vcpus: SnapshotVcpu[] = [];
  const ids = new Set<number>();
  const mpidrs = new Map<string, number>();
  vcpusRaw.forEach((item, i) => {
    const p = joinPath('vcpus', i);
    const o = plainObject(item, p, MAX_FIXED_FIELDS, () => 'but a vCPU has 2 fields (id, mpidr)');
    checkFields(o.keys, p, ['id', 'mpidr'], []);
    const id = expectInteger(o.values.get('id'), joinPath(p, 'id'));
    if (id < 0 || id > MAX_VCPU_ID[model]) {
      throw new SnapshotError(joinPath(p, 'id'), `vCPU id ${id} out of range 0..${MAX_VCPU_ID[model]} for GIC ${model}`);
    }
    if (ids.has(id)) throw new SnapshotError(joinPath(p, 'id'), `duplicate vCPU id ${id}`);
    ids.add(id);
    const mpidr = expectHex(o.values.get('mpidr'), 32, joinPath(p, 'mpidr'));
    const other = mpidrs.get(mpidr);
    if (other !== undefined) {
      throw new SnapshotError(joinPath(p, 'mpidr'), `duplicate MPIDR ${mpidr} (also vCPU ${other})`);
    }
    mpidrs.set(mpidr, id);
    vcpus.push({ id, mpidr });
  });

  const distributor = validateRegisterMap(get('distributor'), 'distributor', 'distributor', model, nrIrqs);

  if (model === 'v3') {
    const redistributors = validatePerVcpu(get('redistributors'), 'redistributors', ids, { requireAll: true, section: 'redistributors' }, model, nrIrqs);
    const cpuInterfaces = validatePerVcpu(get('cpuInterfaces'), 'cpuInterfaces', ids, { requireAll: true, section: 'cpuInterfaces' }, model, nrIrqs);
    const out: VgicSnapshotV3 = {
      vgicSnapshot: SNAPSHOT_VERSION,
      source,
      model,
      nrIrqs,
      vcpus,
      distributor,
      redistributors,
      cpuInterfaces,
    };
    if (rootKeys.includes('levelInfo')) {
      out.levelInfo = validatePerVcpu(
        get('levelInfo'),
        'levelInfo',
        ids,
        { requireAll: false, section: 'levelInfoVcpu', spiSection: 'levelInfoSpi' },
        model,
        nrIrqs,
      );
    }
    return out;
  }

  const banked = rootKeys.includes('bankedDistributor')
    ? validatePerVcpu(get('bankedDistributor'), 'bankedDistributor', ids, { requireAll: false, section: 'bankedDistributor' }, model, nrIrqs)
    : undefined;
  const cpuInterfaces = validatePerVcpu(get('cpuInterfaces'), 'cpuInterfaces', ids, { requireAll: true, section: 'cpuInterfaces' }, model, nrIrqs);
  return {
    vgicSnapshot: SNAPSHOT_VERSION,
    source,
    model,
    nrIrqs,
    vcpus,
    distributor,
    ...(banked !== undefined ? { bankedDistributor: banked } : {}),
    cpuInterfaces,
  };
}

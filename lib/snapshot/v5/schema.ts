// The GICv5 section of the vGIC snapshot format: a document of its own (model "v5"), kept apart
// from the v2/v3 schema (../schema.ts) so neither constrains the other. Shape, in this order:
//
//   vgicSnapshot: 1
//   source:
//     uapi: "irs-final"               the host's vGIC-v5 uapi (lib/vgic/v5/host.ts); only the
//                                     IRS series' final contract has a save/restore interface
//     vmm: "qemu"                     the sequence that produced it (./qemu-v5.ts)
//   model: "v5"
//   nrSpis: 32                        KVM_DEV_ARM_VGIC_GRP_NR_IRQS for GICv5: 32..1024, step 32
//   irsBase: "0x0000000008000000"     KVM_VGIC_V5_ADDR_TYPE_IRS, 64K aligned
//   vcpus:                            1..512, unique ids (< 512) and MPIDRs
//     - id: 0
//       mpidr: "0x00000000"
//   irs: {IRS_*: hex64}               every KVM_DEV_ARM_VGIC_GRP_IRS_REGS register, table order
//   cpuInterfaces: {"<id>": {ICC_*: hex64}}  the 26 CPU_SYSREGS registers of every vCPU
//   ist:                              KVM_DEV_ARM_VGIC_GRP_IST, as 32-bit ISTEs
//     spi: {entries: 32, set: {"<index>": hex32}}   entries = nrSpis; only non-zero entries listed
//     lpi: {entries: 32, set: {...}}                 present iff IRS_IST_BASER.VALID; entries =
//                                                    2^IRS_IST_CFGR.LPI_ID_BITS
//
// Values are "0x" + 16 lowercase hex digits (the uapi's __u64) or, for ISTEs, 8. The validator
// refuses anything else, so a bad file is refused whole before a restore writes anything.

import { GICV5_IRS_IST_BASER_VALID, GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK, VGIC_V5_MAX_NR_SPIS } from '../../uapi/gicv5.ts';
import { V5_USER_SYSREGS } from '../../vgic/v5/cpu-interface.ts';
import { IRS_ROWS } from '../../vgic/v5/irs.ts';
import { SnapshotError, joinPath } from '../schema.ts';

export const V5_SNAPSHOT_VERSION = 1;
export const V5_VMM_STYLES = ['qemu'] as const;
/** ICC_* names in the CPU_SYSREGS order. */
export const V5_CPU_REGISTERS: readonly string[] = V5_USER_SYSREGS.map((r) => r.name);
/** IRS register names in table order (the save sequence's order). */
export const V5_IRS_REGISTERS: readonly string[] = IRS_ROWS.map((r) => r.name);
export const V5_MAX_LPI_ID_BITS = 16;
const MAX_VCPUS = 512;

export interface IstImage {
  entries: number;
  /** Decimal entry index -> hex32 ISTE, ascending, non-zero entries only. */
  set: Record<string, string>;
}

export interface VgicSnapshotV5 {
  vgicSnapshot: typeof V5_SNAPSHOT_VERSION;
  source: { uapi: 'irs-final'; vmm: (typeof V5_VMM_STYLES)[number] };
  model: 'v5';
  nrSpis: number;
  irsBase: string;
  vcpus: { id: number; mpidr: string }[];
  irs: Record<string, string>;
  cpuInterfaces: Record<string, Record<string, string>>;
  ist: { spi: IstImage; lpi?: IstImage };
}

export const V5_SNAPSHOT_FIELDS = ['vgicSnapshot', 'source', 'model', 'nrSpis', 'irsBase', 'vcpus', 'irs', 'cpuInterfaces', 'ist'] as const;

const HEX32 = /^0x[0-9a-f]{8}$/;
const HEX64 = /^0x[0-9a-f]{16}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,5})$/;

function plainObject(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x) || Object.getPrototypeOf(x) !== Object.prototype) {
    throw new SnapshotError(path, 'expected a mapping');
  }
  return x as Record<string, unknown>;
}

function exactKeys(o: Record<string, unknown>, path: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw new SnapshotError(joinPath(path, k), 'unknown field');
  for (const k of required) if (!(k in o)) throw new SnapshotError(joinPath(path, k), 'missing');
}

function intIn(x: unknown, path: string, lo: number, hi: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) throw new SnapshotError(path, `expected an integer in ${lo}..${hi}`);
  return x;
}

function hexString(x: unknown, path: string, re: RegExp): string {
  if (typeof x !== 'string' || !re.test(x)) throw new SnapshotError(path, `expected ${re === HEX64 ? '"0x" + 16' : '"0x" + 8'} lowercase hex digits`);
  return x;
}

/** A register map with exactly `names`, in that order. */
function registerMap(x: unknown, path: string, names: readonly string[]): Record<string, string> {
  const o = plainObject(x, path);
  const keys = Object.keys(o);
  exactKeys(o, path, names);
  if (keys.some((k, i) => k !== names[i])) throw new SnapshotError(path, 'registers out of the canonical order');
  const out: Record<string, string> = {};
  for (const n of names) out[n] = hexString(o[n], joinPath(path, n), HEX64);
  return out;
}

function istImage(x: unknown, path: string, entries: number): IstImage {
  const o = plainObject(x, path);
  exactKeys(o, path, ['entries', 'set']);
  if (o.entries !== entries) throw new SnapshotError(joinPath(path, 'entries'), `expected ${entries}`);
  const set = plainObject(o.set, joinPath(path, 'set'));
  const out: Record<string, string> = {};
  let last = -1;
  for (const k of Object.keys(set)) {
    const p = joinPath(joinPath(path, 'set'), k);
    if (!DECIMAL.test(k) || Number(k) >= entries) throw new SnapshotError(p, `expected an entry index below ${entries}`);
    if (Number(k) <= last) throw new SnapshotError(p, 'entries out of ascending order');
    last = Number(k);
    const v = hexString(set[k], p, HEX32);
    if (v === '0x00000000') throw new SnapshotError(p, 'zero entries are not listed');
    out[k] = v;
  }
  return { entries, set: out };
}

/** Validate a parsed document; returns a fresh, canonical copy or throws SnapshotError. */
export function validateSnapshotV5(doc: unknown): VgicSnapshotV5 {
  const o = plainObject(doc, '');
  exactKeys(o, '', V5_SNAPSHOT_FIELDS);
  if (o.vgicSnapshot !== V5_SNAPSHOT_VERSION) throw new SnapshotError('vgicSnapshot', `unsupported version (expected ${V5_SNAPSHOT_VERSION})`);
  const src = plainObject(o.source, 'source');
  exactKeys(src, 'source', ['uapi', 'vmm']);
  if (src.uapi !== 'irs-final') throw new SnapshotError('source.uapi', 'only the IRS series\' final contract ("irs-final") has GICv5 save/restore');
  if (!(V5_VMM_STYLES as readonly unknown[]).includes(src.vmm)) throw new SnapshotError('source.vmm', `expected one of ${V5_VMM_STYLES.join(', ')}`);
  if (o.model !== 'v5') throw new SnapshotError('model', 'expected "v5"');
  const nrSpis = intIn(o.nrSpis, 'nrSpis', 32, VGIC_V5_MAX_NR_SPIS);
  if (nrSpis % 32) throw new SnapshotError('nrSpis', 'not a multiple of 32');
  const irsBase = hexString(o.irsBase, 'irsBase', HEX64);
  if (BigInt(irsBase) & 0xffffn) throw new SnapshotError('irsBase', 'not 64K aligned');
  if (!Array.isArray(o.vcpus) || o.vcpus.length < 1 || o.vcpus.length > MAX_VCPUS) throw new SnapshotError('vcpus', `expected 1..${MAX_VCPUS} vCPUs`);
  const ids = new Set<number>();
  const mpidrs = new Set<string>();
  const vcpus = o.vcpus.map((c, i) => {
    const p = joinPath('vcpus', i);
    const v = plainObject(c, p);
    exactKeys(v, p, ['id', 'mpidr']);
    const id = intIn(v.id, joinPath(p, 'id'), 0, MAX_VCPUS - 1);
    const mpidr = hexString(v.mpidr, joinPath(p, 'mpidr'), HEX32);
    if (ids.has(id)) throw new SnapshotError(joinPath(p, 'id'), 'duplicate vCPU id');
    if (mpidrs.has(mpidr)) throw new SnapshotError(joinPath(p, 'mpidr'), 'duplicate MPIDR');
    ids.add(id);
    mpidrs.add(mpidr);
    return { id, mpidr };
  });
  const irs = registerMap(o.irs, 'irs', V5_IRS_REGISTERS);
  const cpus = plainObject(o.cpuInterfaces, 'cpuInterfaces');
  const cpuKeys = vcpus.map((v) => String(v.id));
  exactKeys(cpus, 'cpuInterfaces', cpuKeys);
  const cpuInterfaces: Record<string, Record<string, string>> = {};
  for (const k of cpuKeys) cpuInterfaces[k] = registerMap(cpus[k], joinPath('cpuInterfaces', k), V5_CPU_REGISTERS);
  const ist = plainObject(o.ist, 'ist');
  const lpiValid = (BigInt(irs.IRS_IST_BASER!) & GICV5_IRS_IST_BASER_VALID) !== 0n;
  exactKeys(ist, 'ist', lpiValid ? ['spi', 'lpi'] : ['spi']);
  const lpiIdBits = Number(BigInt(irs.IRS_IST_CFGR!) & BigInt(GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK));
  if (lpiValid && lpiIdBits > V5_MAX_LPI_ID_BITS) throw new SnapshotError('irs.IRS_IST_CFGR', `LPI_ID_BITS above ${V5_MAX_LPI_ID_BITS}`);
  return {
    vgicSnapshot: V5_SNAPSHOT_VERSION,
    source: { uapi: 'irs-final', vmm: src.vmm as 'qemu' },
    model: 'v5',
    nrSpis,
    irsBase,
    vcpus,
    irs,
    cpuInterfaces,
    ist: { spi: istImage(ist.spi, 'ist.spi', nrSpis), ...(lpiValid ? { lpi: istImage(ist.lpi, 'ist.lpi', 1 << lpiIdBits) } : {}) },
  };
}

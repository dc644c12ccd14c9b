// The ITS register map (vgic-its.c: its_registers[] and its handlers), one row per register:
// offset, length, the access widths a guest may use, guest read/write, an optional userspace
// write, and the kernel function. The same rows serve the guest MMIO path (dispatch_mmio_read /
// dispatch_mmio_write with check_region) and KVM_DEV_ARM_VGIC_GRP_ITS_REGS
// (vgic_its_attr_regs_access). GITS_TRANSLATER has no row: KVM does not emulate it for the guest
// (a guest write there is ignored); MSIs reach the ITS through KVM_SIGNAL_MSI and irqfd, whose
// doorbell is any address of the ITS frame pair.

import { EBUSY, EINVAL, ENXIO } from '../../uapi/errno.ts';
import { GIC_PIDR2_ARCH_GICv3 } from '../../uapi/gic.ts';
import {
  GITS_BASER,
  GITS_BASER_ENTRY_SIZE_SHIFT,
  GITS_BASER_INDIRECT,
  GITS_BASER_INNER_CACHEABILITY_SHIFT,
  GITS_BASER_OUTER_CACHEABILITY_SHIFT,
  GITS_BASER_PAGE_SIZE_64K,
  GITS_BASER_PAGE_SIZE_MASK,
  GITS_BASER_SHAREABILITY_SHIFT,
  GITS_BASER_TYPE_COLLECTION,
  GITS_BASER_TYPE_DEVICE,
  GITS_BASER_TYPE_SHIFT,
  GITS_BASER_VALID,
  GITS_CBASER,
  GITS_CBASER_INNER_CACHEABILITY_SHIFT,
  GITS_CBASER_OUTER_CACHEABILITY_SHIFT,
  GITS_CBASER_SHAREABILITY_SHIFT,
  GITS_CBASER_VALID,
  GITS_CIDR0,
  GITS_CIDR1,
  GITS_CIDR2,
  GITS_CIDR3,
  GITS_CREADR,
  GITS_CTLR,
  GITS_CTLR_ENABLE,
  GITS_CTLR_QUIESCENT,
  GITS_CWRITER,
  GITS_IDREGS_BASE,
  GITS_IIDR,
  GITS_IIDR_REV_MASK,
  GITS_IIDR_REV_SHIFT,
  GITS_PIDR0,
  GITS_PIDR1,
  GITS_PIDR2,
  GITS_PIDR4,
  GITS_TYPER,
  GITS_TYPER_DEVBITS_SHIFT,
  GITS_TYPER_IDBITS_SHIFT,
  GITS_TYPER_ITT_ENTRY_SIZE_SHIFT,
  GITS_TYPER_PLPIS,
} from '../../uapi/its.ts';
import { IMPLEMENTER_ARM, PRODUCT_ID_KVM } from '../../uapi/kvm.ts';
import { extractBytes, sanitiseBaserFields, update64bitReg } from '../baser.ts';
import { VGIC_ACCESS_32bit, VGIC_ACCESS_64bit, accessWidthOk } from '../mmio.ts';
import { ADDR_UNDEF, type VgicDist } from '../state.ts';
import { cmdBufferSize, processCommands } from './commands.ts';
import {
  ABI_0_ESZ,
  NR_ITS_ABIS,
  VITS_TYPER_DEVBITS,
  VITS_TYPER_IDBITS,
  type VgicIts,
  doorbellToIts,
  freeCollectionList,
  freeDeviceList,
  invalidateCache,
} from './state.ts';

export type ItsReadFn = (its: VgicIts, offset: number, len: number) => bigint;
export type ItsWriteFn = (its: VgicIts, offset: number, len: number, val: bigint) => void;
/** Userspace write: 0 or -errno. */
export type ItsUWriteFn = (its: VgicIts, offset: number, len: number, val: bigint) => number;

export interface ItsRegisterRow {
  readonly name: string;
  readonly offset: number;
  readonly len: number;
  readonly access: number;
  readonly read: ItsReadFn;
  readonly write: ItsWriteFn;
  readonly uaccessWrite?: ItsUWriteFn;
  /** The kernel code this row models. */
  readonly ref: string;
}

/** ITS_CMD_OFFSET(): the 32-byte aligned offset, bits [19:5]. */
export function itsCmdOffset(v: bigint): number {
  return Number(v & 0xfffe0n);
}

// --- handlers -----------------------------------------------------------------------------------------

const F = 'vgic-its.c';

const readCtlr: ItsReadFn = (its) => {
  let v = 0;
  if (its.creadr === its.cwriter) v |= GITS_CTLR_QUIESCENT;
  if (its.enabled) v |= GITS_CTLR_ENABLE;
  return BigInt(v >>> 0);
};

/**
 * vgic_mmio_write_its_ctlr(): enabling needs valid device and collection BASERs and a valid
 * CBASER, else the whole write is ignored; disabling empties the translation cache; either way
 * queued commands run.
 */
const writeCtlr: ItsWriteFn = (its, _o, _l, val) => {
  const enable = (val & BigInt(GITS_CTLR_ENABLE)) !== 0n;
  if (!its.enabled && enable && (!(its.baserDeviceTable & GITS_BASER_VALID) || !(its.baserCollTable & GITS_BASER_VALID) || !(its.cbaser & GITS_CBASER_VALID))) {
    return;
  }
  its.enabled = enable;
  if (!its.enabled) invalidateCache(its);
  processCommands(its);
};

/** vgic_mmio_read_its_iidr(): the revision field is the table ABI revision. */
const readIidr: ItsReadFn = (its) =>
  BigInt((((its.abiRev << GITS_IIDR_REV_SHIFT) & GITS_IIDR_REV_MASK) | (PRODUCT_ID_KVM << 24) | IMPLEMENTER_ARM) >>> 0);

/** vgic_its_set_abi() -> vgic_its_commit_v0(): the BASER entry sizes follow the ABI. */
export function setAbi(its: VgicIts, rev: number): void {
  its.abiRev = rev;
  const mask = 0x1fn << GITS_BASER_ENTRY_SIZE_SHIFT;
  const esz = BigInt(ABI_0_ESZ - 1) << GITS_BASER_ENTRY_SIZE_SHIFT;
  its.baserCollTable = (its.baserCollTable & ~mask) | esz;
  its.baserDeviceTable = (its.baserDeviceTable & ~mask) | esz;
}

/** vgic_mmio_uaccess_write_its_iidr(): only an existing ABI revision (0) is accepted. */
const uaccessWriteIidr: ItsUWriteFn = (its, _o, _l, val) => {
  const rev = Number((val >> BigInt(GITS_IIDR_REV_SHIFT)) & 0xfn);
  if (rev >= NR_ITS_ABIS) return -EINVAL;
  setAbi(its, rev);
  return 0;
};

/** vgic_mmio_read_its_typer(): physical LPIs, 16 DeviceID and EventID bits, 8-byte ITEs, PTA = 0. */
export function itsTyper(): bigint {
  return (
    GITS_TYPER_PLPIS |
    (BigInt(VITS_TYPER_DEVBITS - 1) << GITS_TYPER_DEVBITS_SHIFT) |
    (BigInt(VITS_TYPER_IDBITS - 1) << GITS_TYPER_IDBITS_SHIFT) |
    (BigInt(ABI_0_ESZ - 1) << GITS_TYPER_ITT_ENTRY_SIZE_SHIFT)
  );
}
const readTyper: ItsReadFn = (_its, offset, len) => extractBytes(itsTyper(), offset, len);

const readCbaser: ItsReadFn = (its, offset, len) => extractBytes(its.cbaser, offset, len);

/** vgic_sanitise_its_cbaser(): cacheability/shareability sanitised, PA 64K aligned (bits 15:12 cleared). */
function sanitiseCbaser(reg: bigint): bigint {
  reg = sanitiseBaserFields(reg, GITS_CBASER_SHAREABILITY_SHIFT, GITS_CBASER_INNER_CACHEABILITY_SHIFT, GITS_CBASER_OUTER_CACHEABILITY_SHIFT);
  return reg & ~0xf000n;
}

/** vgic_mmio_write_its_cbaser(): read-only while enabled; resets CREADR and CWRITER to 0. */
const writeCbaser: ItsWriteFn = (its, offset, len, val) => {
  if (its.enabled) return;
  its.cbaser = sanitiseCbaser(update64bitReg(its.cbaser, offset, len, val));
  its.creadr = 0;
  its.cwriter = its.creadr;
};

const readCwriter: ItsReadFn = (its, offset, len) => extractBytes(BigInt(its.cwriter), offset, len);

/** vgic_mmio_write_its_cwriter(): an offset beyond the queue is ignored; otherwise commands run. */
const writeCwriter: ItsWriteFn = (its, offset, len, val) => {
  const reg = itsCmdOffset(update64bitReg(BigInt(its.cwriter), offset, len, val));
  if (reg >= cmdBufferSize(its.cbaser)) return;
  its.cwriter = reg;
  processCommands(its);
};

const readCreadr: ItsReadFn = (its, offset, len) => extractBytes(BigInt(its.creadr), offset, len);

/** vgic_mmio_uaccess_write_its_creadr(): EBUSY while enabled, EINVAL beyond the queue. */
const uaccessWriteCreadr: ItsUWriteFn = (its, _o, _l, val) => {
  if (its.enabled) return -EBUSY;
  const off = itsCmdOffset(val);
  if (off >= cmdBufferSize(its.cbaser)) return -EINVAL;
  its.creadr = off;
  return 0;
};

/** BASER_INDEX(addr) */
const baserIndex = (offset: number): number => Math.floor(offset / 8) & 7;

/** vgic_mmio_read_its_baser(): BASER0 = device table, BASER1 = collection table, the rest 0. */
const readBaser: ItsReadFn = (its, offset, len) => {
  const i = baserIndex(offset);
  const reg = i === 0 ? its.baserDeviceTable : i === 1 ? its.baserCollTable : 0n;
  return extractBytes(reg, offset, len);
};

/** GITS_BASER_RO_MASK: Entry_Size [52:48] and Type [58:56]. */
const GITS_BASER_RO_MASK = (0x1fn << 48n) | (0x7n << 56n);

/** vgic_sanitise_its_baser(): cacheability/shareability sanitised, 64K pages only. */
function sanitiseItsBaser(reg: bigint): bigint {
  reg = sanitiseBaserFields(reg, GITS_BASER_SHAREABILITY_SHIFT, GITS_BASER_INNER_CACHEABILITY_SHIFT, GITS_BASER_OUTER_CACHEABILITY_SHIFT);
  return (reg & ~GITS_BASER_PAGE_SIZE_MASK) | GITS_BASER_PAGE_SIZE_64K;
}

/**
 * vgic_mmio_write_its_baser(): ignored while enabled; Entry_Size and Type are fixed, the
 * collection table cannot be indirect; a value that changes drops every device (or collection)
 * and the translation cache.
 */
const writeBaser: ItsWriteFn = (its, offset, len, val) => {
  if (its.enabled) return;
  const i = baserIndex(offset);
  if (i > 1) return;
  const old = i === 0 ? its.baserDeviceTable : its.baserCollTable;
  const type = i === 0 ? GITS_BASER_TYPE_DEVICE : GITS_BASER_TYPE_COLLECTION;
  let reg = update64bitReg(old, offset, len, val) & ~GITS_BASER_RO_MASK;
  if (i === 1) reg &= ~GITS_BASER_INDIRECT;
  reg |= BigInt(ABI_0_ESZ - 1) << GITS_BASER_ENTRY_SIZE_SHIFT;
  reg |= BigInt(type) << GITS_BASER_TYPE_SHIFT;
  reg = sanitiseItsBaser(reg);
  if (i === 0) its.baserDeviceTable = reg;
  else its.baserCollTable = reg;
  // The ITS driver rewrites an unchanged GITS_BASER<n> on resume: only a change frees.
  if (reg !== old) {
    if (i === 0) freeDeviceList(its);
    else freeCollectionList(its);
    invalidateCache(its);
  }
};

/** vgic_mmio_read_its_idregs() */
const readIdregs: ItsReadFn = (_its, offset) => {
  switch (offset & 0xffff) {
    case GITS_PIDR0:
      return 0x92n; // part number, bits[7:0]
    case GITS_PIDR1:
      return 0xb4n; // part number, bits[11:8]
    case GITS_PIDR2:
      return BigInt(GIC_PIDR2_ARCH_GICv3 | 0x0b);
    case GITS_PIDR4:
      return 0x40n; // a 64K software-visible page
    case GITS_CIDR0:
      return 0x0dn;
    case GITS_CIDR1:
      return 0xf0n;
    case GITS_CIDR2:
      return 0x05n;
    case GITS_CIDR3:
      return 0xb1n;
  }
  return 0n;
};

const writeWi: ItsWriteFn = () => {};

const A32 = VGIC_ACCESS_32bit;
const A32_64 = VGIC_ACCESS_32bit | VGIC_ACCESS_64bit;

export const ITS_ROWS: readonly ItsRegisterRow[] = [
  { name: 'GITS_CTLR', offset: GITS_CTLR, len: 4, access: A32, read: readCtlr, write: writeCtlr, ref: `${F}: vgic_mmio_write_its_ctlr` },
  { name: 'GITS_IIDR', offset: GITS_IIDR, len: 4, access: A32, read: readIidr, write: writeWi, uaccessWrite: uaccessWriteIidr, ref: `${F}: vgic_mmio_uaccess_write_its_iidr` },
  { name: 'GITS_TYPER', offset: GITS_TYPER, len: 8, access: A32_64, read: readTyper, write: writeWi, ref: `${F}: vgic_mmio_read_its_typer` },
  { name: 'GITS_CBASER', offset: GITS_CBASER, len: 8, access: A32_64, read: readCbaser, write: writeCbaser, ref: `${F}: vgic_mmio_write_its_cbaser` },
  { name: 'GITS_CWRITER', offset: GITS_CWRITER, len: 8, access: A32_64, read: readCwriter, write: writeCwriter, ref: `${F}: vgic_mmio_write_its_cwriter` },
  { name: 'GITS_CREADR', offset: GITS_CREADR, len: 8, access: A32_64, read: readCreadr, write: writeWi, uaccessWrite: uaccessWriteCreadr, ref: `${F}: vgic_mmio_uaccess_write_its_creadr` },
  { name: 'GITS_BASER<n>', offset: GITS_BASER, len: 0x40, access: A32_64, read: readBaser, write: writeBaser, ref: `${F}: vgic_mmio_write_its_baser` },
  { name: 'GITS_IDREGS', offset: GITS_IDREGS_BASE, len: 0x30, access: A32, read: readIdregs, write: writeWi, ref: `${F}: vgic_mmio_read_its_idregs` },
];

/** vgic_find_mmio_region() over its_registers */
export function findItsRegister(offset: number): ItsRegisterRow | undefined {
  for (const r of ITS_ROWS) if (offset >= r.offset && offset < r.offset + r.len) return r;
  return undefined;
}

// --- guest MMIO -----------------------------------------------------------------------------------------

/**
 * The ITS whose frame pair holds `addr`, with the offset in it: the same KVM MMIO bus lookup as an
 * MSI's doorbell (kvm_main.c kvm_io_bus_get_first_dev: the lowest base if frames overlap).
 */
function itsAt(dist: VgicDist, addr: number): { its: VgicIts; offset: number } | null {
  const its = doorbellToIts(dist, addr);
  return its ? { its, offset: addr - its.base } : null;
}

/** Guest read of an ITS frame: the value (0 for a rejected access), or null when no ITS is there. */
export function itsMmioRead(dist: VgicDist, addr: number, len: number): number | bigint | null {
  const hit = itsAt(dist, addr);
  if (!hit) return null;
  const row = findItsRegister(hit.offset);
  if (!row || !accessWidthOk(row.access, hit.offset, len)) return len === 8 ? 0n : 0;
  const v = row.read(hit.its, hit.offset, len);
  return len === 8 ? v : Number(v & 0xffffffffn);
}

/** Guest write of an ITS frame: true when an ITS frame is there (a rejected access is ignored). */
export function itsMmioWrite(dist: VgicDist, addr: number, len: number, val: number | bigint): boolean {
  const hit = itsAt(dist, addr);
  if (!hit) return false;
  const row = findItsRegister(hit.offset);
  if (!row || !accessWidthOk(row.access, hit.offset, len)) return true;
  row.write(hit.its, hit.offset, len, BigInt.asUintN(len * 8, BigInt(val)));
  return true;
}

// --- userspace (KVM_DEV_ARM_VGIC_GRP_ITS_REGS) ------------------------------------------------------------

/** 32-bit registers (CTLR, IIDR, ID registers) need 4-byte alignment, the others 8 (vgic_its_has_attr_regs). */
export function itsRegAlignMask(offset: number): number {
  return offset < GITS_TYPER || offset >= GITS_PIDR4 ? 0x3 : 0x7;
}

/** vgic_its_attr_regs_access() after its locking: the full register (len 8 or 4) or -errno. */
export function itsUaccess(its: VgicIts, offset: number, write: boolean, val: bigint): { ret: number; value: bigint } {
  if (its.base === ADDR_UNDEF) return { ret: -ENXIO, value: 0n };
  const row = findItsRegister(offset);
  if (!row) return { ret: -ENXIO, value: 0n };
  const len = row.access & VGIC_ACCESS_64bit ? 8 : 4;
  if (write) {
    if (row.uaccessWrite) return { ret: row.uaccessWrite(its, offset, len, val), value: 0n };
    row.write(its, offset, len, BigInt.asUintN(len * 8, val));
    return { ret: 0, value: 0n };
  }
  return { ret: 0, value: row.read(its, offset, len) };
}

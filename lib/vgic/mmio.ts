// Register tables and the MMIO dispatch shared by every vGIC frame, as vgic-mmio.c does it:
// one row per register (offset, length or bits per IRQ, allowed widths, guest handlers and
// optional userspace handlers), found by offset and checked by check_region().

import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from '../uapi/kvm.ts';
import { IrqConfig, type VgicIrq } from './irq.ts';
import { queueIrq } from './ap-list.ts';
import type { HostProfile } from './profiles.ts';
import type { VgicCpu, VgicDist } from './state.ts';

export const VGIC_ACCESS_8bit = 1;
export const VGIC_ACCESS_32bit = 2;
export const VGIC_ACCESS_64bit = 4;

/** Who is accessing: the VM's vGIC and the vCPU whose view is used (redistributor owner or caller). */
export interface AccessCtx {
  readonly dist: VgicDist;
  readonly vcpu: VgicCpu;
  /** True on the userspace (device attribute) path. */
  readonly uaccess: boolean;
}

/** Handlers see 1- or 4-byte accesses; 64-bit accesses are split into two 4-byte halves. */
export type ReadFn = (ctx: AccessCtx, offset: number, len: number) => number;
export type WriteFn = (ctx: AccessCtx, offset: number, len: number, val: number) => void;
/** Userspace write: 0 or -errno. */
export type UWriteFn = (ctx: AccessCtx, offset: number, len: number, val: number) => number;

export interface RegisterRow {
  readonly name: string;
  readonly offset: number;
  /** Byte length of the region (computed for per-IRQ rows). */
  readonly len: number;
  /** 0 for plain registers; 1, 2, 8 or 64 for per-IRQ registers. */
  readonly bitsPerIrq: number;
  readonly access: number;
  readonly read: ReadFn;
  readonly write: WriteFn;
  readonly uaccessRead?: ReadFn;
  readonly uaccessWrite?: UWriteFn;
  /** The kernel code this row models. */
  readonly ref: string;
  /** Only on host kernels whose profile says so (a row added later); absent rows are not found. */
  readonly present?: (p: HostProfile) => boolean;
}

interface RowSpec {
  name: string;
  present?: (p: HostProfile) => boolean;
  read: ReadFn;
  write: WriteFn;
  uaccessRead?: ReadFn;
  uaccessWrite?: UWriteFn;
  access: number;
  ref: string;
}

/** REGISTER_DESC_WITH_LENGTH(_UACCESS) */
export function reg(offset: number, len: number, spec: RowSpec): RegisterRow {
  return { ...spec, offset, len, bitsPerIrq: 0 };
}

/** REGISTER_DESC_WITH_BITS_PER_IRQ(_SHARED): a region covering 1024 IRQs. */
export function perIrq(offset: number, bitsPerIrq: number, spec: RowSpec): RegisterRow {
  return { ...spec, offset, len: (bitsPerIrq * 1024) / 8, bitsPerIrq };
}

/** A frame's register map with O(1) lookup by 32-bit word. */
export class RegisterTable {
  private readonly index: Int16Array;
  constructor(
    readonly name: string,
    readonly rows: readonly RegisterRow[],
    readonly frameSize: number,
  ) {
    const owner = new Int16Array(frameSize >>> 2).fill(-1);
    rows.forEach((r, i) => {
      for (let o = r.offset; o < r.offset + r.len; o += 4) {
        if (owner[o >>> 2] !== -1) throw new Error(`${name}: rows overlap at 0x${o.toString(16)}`);
        owner[o >>> 2] = i;
      }
    });
    // The kernel finds a row by bsearch() over its array in declaration order, which must be
    // sorted by offset; where it is not, some rows are never found. vgic_v3_rd_registers lists
    // GICR_STATUSR (0x10) between GICR_CTLR and GICR_IIDR, so GICR_STATUSR is unreachable:
    // KVM_HAS_DEVICE_ATTR says ENXIO (measured on 6.1.164, 6.12.117 and 7.2.13). Precomputing
    // the search per word keeps the lookup O(1).
    this.index = new Int16Array(frameSize >>> 2).fill(-1);
    for (let w = 0; w < owner.length; w++) this.index[w] = kernelBsearch(rows, w << 2);
  }

  /** vgic_find_mmio_region() */
  find(offset: number): RegisterRow | undefined {
    if (offset < 0 || offset >= this.frameSize) return undefined;
    const i = this.index[offset >>> 2]!;
    return i < 0 ? undefined : this.rows[i];
  }
}

/** lib/bsearch.c over the rows in array order with vgic-mmio.c: match_region(); -1 if not found. */
function kernelBsearch(rows: readonly RegisterRow[], offset: number): number {
  let base = 0;
  let num = rows.length;
  while (num > 0) {
    const pivot = base + (num >> 1);
    const r = rows[pivot]!;
    if (offset >= r.offset && offset < r.offset + r.len) return pivot;
    if (offset >= r.offset + r.len) {
      base = pivot + 1;
      num--;
    }
    num >>= 1;
  }
  return -1;
}

/** VGIC_ADDR_TO_INTID(): first INTID covered by a per-IRQ access. */
export function addrToIntid(offset: number, bitsPerIrq: number): number {
  const mask = (bitsPerIrq * 1024) / 8 - 1;
  return ((offset & mask) * 8) / bitsPerIrq;
}

/** check_region()'s first half: a width the row allows (VGIC_ACCESS_*), naturally aligned. */
export function accessWidthOk(access: number, offset: number, len: number): boolean {
  const flag = len === 1 ? VGIC_ACCESS_8bit : len === 4 ? VGIC_ACCESS_32bit : len === 8 ? VGIC_ACCESS_64bit : 0;
  return (access & flag) !== 0 && offset % len === 0;
}

/** check_region() (vgic-mmio.c): width allowed, naturally aligned, and the INTID allocated. */
export function checkRegion(dist: VgicDist, row: RegisterRow, offset: number, len: number): boolean {
  if (!accessWidthOk(row.access, offset, len)) return false;
  if (!row.bitsPerIrq) return true;
  return addrToIntid(offset, row.bitsPerIrq) < dist.nrIrqs;
}

/** vgic_get_mmio_region(): the row, only if check_region() accepts the access. */
export function getMmioRegion(
  dist: VgicDist,
  table: RegisterTable,
  offset: number,
  len: number,
): RegisterRow | undefined {
  const row = table.find(offset);
  if (!row || !checkRegion(dist, row, offset, len)) return undefined;
  if (row.present && !row.present(dist.profile)) return undefined;
  return row;
}

/** dispatch_mmio_read(): a rejected access reads as zero, never faults. */
export function mmioRead(table: RegisterTable, ctx: AccessCtx, offset: number, len: number): number | bigint {
  const row = getMmioRegion(ctx.dist, table, offset, len);
  if (len === 8) {
    if (!row) return 0n;
    const lo = row.read(ctx, offset, 4);
    const hi = row.read(ctx, offset + 4, 4);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }
  if (!row) return 0;
  return row.read(ctx, offset, len) >>> 0;
}

/** dispatch_mmio_write(): a rejected access is ignored. */
export function mmioWrite(
  table: RegisterTable,
  ctx: AccessCtx,
  offset: number,
  len: number,
  val: number | bigint,
): void {
  const row = getMmioRegion(ctx.dist, table, offset, len);
  if (!row) return;
  if (len === 8) {
    const v = BigInt.asUintN(64, BigInt(val));
    row.write(ctx, offset, 4, Number(v & 0xffffffffn));
    row.write(ctx, offset + 4, 4, Number(v >> 32n));
    return;
  }
  row.write(ctx, offset, len, Number(val) >>> 0);
}

/** vgic_uaccess_read(): 32-bit; an unknown or rejected offset reads 0 and succeeds. */
export function uaccessRead(table: RegisterTable, ctx: AccessCtx, offset: number): number {
  const row = getMmioRegion(ctx.dist, table, offset, 4);
  if (!row) return 0;
  return (row.uaccessRead ?? row.read)(ctx, offset, 4) >>> 0;
}

/** vgic_uaccess_write(): an unknown or rejected offset is ignored and succeeds. */
export function uaccessWrite(table: RegisterTable, ctx: AccessCtx, offset: number, val: number): number {
  const row = getMmioRegion(ctx.dist, table, offset, 4);
  if (!row) return 0;
  if (row.uaccessWrite) return row.uaccessWrite(ctx, offset, 4, val >>> 0);
  row.write(ctx, offset, 4, val >>> 0);
  return 0;
}

/** vgic_v{2,3}_has_attr_regs(): only aligned 32-bit offsets that check_region() accepts. */
export function hasRegister(table: RegisterTable, dist: VgicDist, offset: number): boolean {
  if (offset & 3) return false;
  return getMmioRegion(dist, table, offset, 4) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Generic handlers shared by v2 and v3, distributor and redistributor (vgic-mmio.c)

export const readRaz: ReadFn = () => 0;
export const readRao: ReadFn = () => 0xffffffff;
export const writeWi: WriteFn = () => {};
export const uaccessWriteWi: UWriteFn = () => 0;

/**
 * for_each_set_bit() over a 1-bit-per-IRQ write: the IRQs whose bit is set in `val`; missing IRQs
 * (beyond nr_irqs) are skipped. A write-1-to-act register costs its set bits, not its width (the
 * guest's one-bit ISPENDR write is a hot path).
 */
function forEachSetIrq(ctx: AccessCtx, offset: number, len: number, val: number, fn: (irq: VgicIrq) => void): void {
  const intid = addrToIntid(offset, 1);
  const width = len >= 4 ? 0xffffffff : (1 << (len * 8)) - 1;
  for (let v = (val & width) >>> 0; v; v = (v & (v - 1)) >>> 0) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + 31 - Math.clz32(v & -v));
    if (irq) fn(irq);
  }
}

/** Iterate the IRQs covered by a per-IRQ access; missing IRQs (beyond nr_irqs) are skipped. */
function forEachIrq(ctx: AccessCtx, offset: number, len: number, bitsPerIrq: number, fn: (irq: VgicIrq, i: number) => void): void {
  const intid = addrToIntid(offset, bitsPerIrq);
  const n = (len * 8) / bitsPerIrq;
  for (let i = 0; i < n; i++) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + i);
    if (irq) fn(irq, i);
  }
}

/** Gather one bit per IRQ. */
function readBits(ctx: AccessCtx, offset: number, len: number, pick: (irq: VgicIrq) => boolean): number {
  let v = 0;
  forEachIrq(ctx, offset, len, 1, (irq, i) => {
    if (pick(irq)) v |= 1 << i;
  });
  return v >>> 0;
}

/** vgic_mmio_read_group() */
export const readGroup: ReadFn = (ctx, offset, len) => readBits(ctx, offset, len, (irq) => irq.group === 1);

/** vgic_mmio_write_group(): profile-gated (groups configurable; patch 1's revision gate). */
export const writeGroup: WriteFn = (ctx, offset, len, val) => {
  const { dist } = ctx;
  if (!dist.profile.groupsConfigurable) return;
  if (dist.implementationRev < dist.profile.groupWriteMinRev) return;
  forEachIrq(ctx, offset, len, 1, (irq, i) => {
    irq.group = (val >>> i) & 1;
    queueIrq(dist, irq);
  });
};

/** vgic_mmio_read_enable() */
export const readEnable: ReadFn = (ctx, offset, len) => readBits(ctx, offset, len, (irq) => irq.enabled);

/** vgic_mmio_write_senable() */
export const writeSenable: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    irq.enabled = true;
    queueIrq(ctx.dist, irq);
  });
};

/** vgic_mmio_write_cenable() */
export const writeCenable: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    irq.enabled = false;
  });
};

/** vgic_uaccess_write_senable(): plain set, no HW special cases. */
export const uaccessWriteSenable: UWriteFn = (ctx, offset, len, val) => {
  writeSenable(ctx, offset, len, val);
  return 0;
};

/** vgic_uaccess_write_cenable() */
export const uaccessWriteCenable: UWriteFn = (ctx, offset, len, val) => {
  writeCenable(ctx, offset, len, val);
  return 0;
};

/**
 * vgic_mmio_read_pending(): latch OR line level (irq_is_pending); for a guest read of a mapped
 * level IRQ (the vtimer), the line of the device behind it (vgic_get_phys_line_level).
 */
export const readPending: ReadFn = (ctx, offset, len) =>
  readBits(ctx, offset, len, (irq) => (!ctx.uaccess && irq.inputLevel ? irq.inputLevel() : irq.isPending()));

/** GICv2 SGIs (intid < 16) cannot be made pending by a guest ISPENDR write (is_vgic_v2_sgi). */
function isV2Sgi(ctx: AccessCtx, irq: VgicIrq): boolean {
  return ctx.dist.model === 'v2' && irq.intid < VGIC_NR_SGIS;
}

/** vgic_mmio_write_spending(): sets the latch (v2 SGIs ignored on the guest path). */
export const writeSpending: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    if (isV2Sgi(ctx, irq)) return;
    irq.pendingLatch = true;
    queueIrq(ctx.dist, irq);
  });
};

/** vgic_mmio_write_cpending(): clears the latch only (v2 SGIs ignored on the guest path). */
export const writeCpending: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    if (isV2Sgi(ctx, irq)) return;
    irq.pendingLatch = false;
  });
};

/**
 * vgic_uaccess_write_spending(): GICv2 SGIs gain the accessing vCPU as a source.
 * (The v2 uaccess path targets the vCPU named in the attribute.)
 */
export const uaccessWriteSpending: UWriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    irq.pendingLatch = true;
    if (isV2Sgi(ctx, irq)) irq.source |= 1 << ctx.vcpu.vcpuId;
    queueIrq(ctx.dist, irq);
  });
  return 0;
};

/** vgic_uaccess_write_cpending(): GICv2 SGIs lose every source. */
export const uaccessWriteCpending: UWriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    irq.pendingLatch = false;
    if (isV2Sgi(ctx, irq)) irq.source = 0;
  });
  return 0;
};

/** vgic_mmio_read_active() */
export const readActive: ReadFn = (ctx, offset, len) => readBits(ctx, offset, len, (irq) => irq.active);

/** vgic_mmio_write_sactive() (the guest is halted meanwhile; HW IRQs would also change phys state). */
export const writeSactive: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    setActive(ctx, irq, true);
  });
  ctx.dist.kick();
};

/** vgic_mmio_write_cactive() */
export const writeCactive: WriteFn = (ctx, offset, len, val) => {
  forEachSetIrq(ctx, offset, len, val, (irq) => {
    setActive(ctx, irq, false);
  });
  ctx.dist.kick();
};

/** vgic_mmio_change_active(): HW-mapped IRQs are left alone on the userspace path. */
function setActive(ctx: AccessCtx, irq: VgicIrq, active: boolean): void {
  if (ctx.uaccess && irq.hw) return;
  irq.active = active;
  if (active && ctx.dist.model === 'v2' && irq.intid < VGIC_NR_SGIS) {
    // A userspace-activated v2 SGI has no known source (active_source = 0).
    irq.activeSource = ctx.uaccess ? 0 : ctx.vcpu.vcpuId;
  }
  if (irq.active) queueIrq(ctx.dist, irq); // vgic_mmio_change_active
}

/** vgic_mmio_uaccess_write_sactive() */
export const uaccessWriteSactive: UWriteFn = (ctx, offset, len, val) => {
  writeSactive(ctx, offset, len, val);
  return 0;
};

/** vgic_mmio_uaccess_write_cactive() */
export const uaccessWriteCactive: UWriteFn = (ctx, offset, len, val) => {
  writeCactive(ctx, offset, len, val);
  return 0;
};

/** Priority byte mask for VGIC_PRI_BITS (5): GENMASK(7, 8 - VGIC_PRI_BITS). */
export const VGIC_PRI_MASK = 0xf8;

/** vgic_mmio_read_priority(): one byte per IRQ. */
export const readPriority: ReadFn = (ctx, offset, len) => {
  let v = 0;
  forEachIrq(ctx, offset, len, 8, (irq, i) => {
    v |= irq.priority << (i * 8);
  });
  return v >>> 0;
};

/** vgic_mmio_write_priority(): only the implemented priority bits are kept. */
export const writePriority: WriteFn = (ctx, offset, len, val) => {
  forEachIrq(ctx, offset, len, 8, (irq, i) => {
    irq.priority = (val >>> (i * 8)) & VGIC_PRI_MASK;
  });
  ctx.dist.kick();
};

/** vgic_mmio_read_config(): 0b10 = edge for each IRQ (bit 0 always 0). */
export const readConfig: ReadFn = (ctx, offset, len) => {
  let v = 0;
  forEachIrq(ctx, offset, len, 2, (irq, i) => {
    if (irq.config === IrqConfig.Edge) v |= 2 << (i * 2);
  });
  return v >>> 0;
};

/** vgic_mmio_write_config(): SGI and PPI configuration is read-only. */
export const writeConfig: WriteFn = (ctx, offset, len, val) => {
  forEachIrq(ctx, offset, len, 2, (irq, i) => {
    if (irq.intid < VGIC_NR_PRIVATE_IRQS) return;
    irq.config = (val >>> (i * 2 + 1)) & 1 ? IrqConfig.Edge : IrqConfig.Level;
  });
  ctx.dist.kick();
};

/** Replace bytes [offset&3 .. +len) of a 32-bit value: the kernel's update/insert helpers. */
export function insertBytes(old: number, offset: number, len: number, val: number): number {
  if (len === 4) return val >>> 0;
  const shift = (offset & 3) * 8;
  const mask = len === 1 ? 0xff : 0xffff;
  return ((old & ~(mask << shift)) | ((val & mask) << shift)) >>> 0;
}


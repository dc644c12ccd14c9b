// Guest MMIO into the vGIC frames (vgic_register_dist_iodev / vgic_register_redist_iodev and
// dispatch_mmio_read/write in vgic-mmio.c): which frame an address hits, and whose view is used.

import {
  GIC_CPU_ACTIVEPRIO,
  GIC_CPU_ALIAS_BINPOINT,
  GIC_CPU_BINPOINT,
  GIC_CPU_CTRL,
  GIC_CPU_DEACTIVATE,
  GIC_CPU_EOI,
  GIC_CPU_HIGHPRI,
  GIC_CPU_IDENT,
  GIC_CPU_INTACK,
  GIC_CPU_PRIMASK,
  GIC_CPU_RUNNINGPRI,
} from '../uapi/gic.ts';
import { KVM_VGIC_V2_CPU_SIZE, KVM_VGIC_V2_DIST_SIZE, KVM_VGIC_V3_DIST_SIZE, KVM_VGIC_V3_REDIST_SIZE } from '../uapi/kvm.ts';
import { pruneApList } from './ap-list.ts';
import { SPURIOUS_INTID, acknowledge, deactivate, endOfInterrupt, highestPending, priMask, runningPriority } from './cpuif.ts';
import { itsMmioRead, itsMmioWrite } from './its/registers.ts';
import { type AccessCtx, type RegisterTable, mmioRead, mmioWrite } from './mmio.ts';
import { V2_DIST_TABLE } from './mmio-v2.ts';
import { V3_DIST_TABLE, V3_RD_TABLE } from './mmio-v3.ts';
import { ADDR_UNDEF, type VgicCpu, type VgicDist } from './state.ts';
import { irsMmioRead, irsMmioWrite } from './v5/irs.ts';

const guestCtx = new WeakMap<VgicCpu, AccessCtx>();

function ctxFor(dist: VgicDist, vcpu: VgicCpu): AccessCtx {
  let c = guestCtx.get(vcpu);
  if (!c) {
    c = { dist, vcpu, uaccess: false };
    guestCtx.set(vcpu, c);
  }
  return c;
}

/** A frame hit: which table, whose view, and the offset inside the frame. */
interface FrameHit {
  table: RegisterTable | 'gicc';
  ctx: AccessCtx;
  offset: number;
}

/** Find the vGIC frame at `addr`, if the vGIC has been mapped (first run done). */
export function findFrame(dist: VgicDist, vcpu: VgicCpu, addr: number): FrameHit | null {
  if (!dist.ready) return null;
  const d = dist.distBase;
  if (dist.model === 'v3') {
    if (addr >= d && addr < d + KVM_VGIC_V3_DIST_SIZE) return { table: V3_DIST_TABLE, ctx: ctxFor(dist, vcpu), offset: addr - d };
    for (const v of dist.vcpus) {
      if (v.rdBase !== ADDR_UNDEF && addr >= v.rdBase && addr < v.rdBase + KVM_VGIC_V3_REDIST_SIZE) {
        return { table: V3_RD_TABLE, ctx: ctxFor(dist, v), offset: addr - v.rdBase };
      }
    }
    return null;
  }
  if (addr >= d && addr < d + KVM_VGIC_V2_DIST_SIZE) return { table: V2_DIST_TABLE, ctx: ctxFor(dist, vcpu), offset: addr - d };
  const c = dist.cpuBase;
  if (addr >= c && addr < c + KVM_VGIC_V2_CPU_SIZE) return { table: 'gicc', ctx: ctxFor(dist, vcpu), offset: addr - c };
  return null;
}

/** Guest read of a vGIC frame; null when no frame is there (the access exits to userspace). */
export function vgicMmioRead(dist: VgicDist, vcpu: VgicCpu, addr: number, len: number): number | bigint | null {
  if (dist.v5) return irsMmioRead(dist.v5, vcpu, addr, len); // GICv5: the IRS frames only
  const hit = findFrame(dist, vcpu, addr);
  if (hit?.table === 'gicc') return len === 4 ? giccRead(hit.ctx, hit.offset) : len === 8 ? 0n : 0;
  // Any other access here traps (an exit): kvm_vgic_sync_hwstate prunes the ap_list first.
  pruneApList(dist, vcpu);
  if (!hit) return itsMmioRead(dist, addr, len); // an ITS frame pair (lib/vgic/its/), else null
  return mmioRead(hit.table, hit.ctx, hit.offset, len);
}

export function vgicMmioWrite(dist: VgicDist, vcpu: VgicCpu, addr: number, len: number, val: number | bigint): boolean {
  if (dist.v5) return irsMmioWrite(dist.v5, vcpu, addr, len, val);
  const hit = findFrame(dist, vcpu, addr);
  if (hit?.table === 'gicc') {
    if (len === 4) giccWrite(hit.ctx, hit.offset, Number(val) >>> 0);
    return true;
  }
  pruneApList(dist, vcpu); // a trapped access: an exit (see vgicMmioRead)
  if (!hit) return itsMmioWrite(dist, addr, len, val); // an ITS frame pair (lib/vgic/its/), else false
  mmioWrite(hit.table, hit.ctx, hit.offset, len, val);
  return true;
}

// --- GICv2 CPU interface as the guest sees it (the hardware GICV page KVM maps; not trapped) ---

const GICV_IIDR = 0x0202043b; // GICv2 architecture, ARM implementer, as a GIC-400 GICV reports

function giccRead({ dist, vcpu }: AccessCtx, offset: number): number {
  const c = vcpu.cpuif;
  switch (offset) {
    case GIC_CPU_CTRL:
      return c.igrpen0 | (c.igrpen1 << 1) | (c.ackctl << 2) | (c.fiqen << 3) | (c.cbpr << 4) | (c.eoimode << 9);
    case GIC_CPU_PRIMASK:
      return c.pmr & 0xf8;
    case GIC_CPU_BINPOINT:
      return Math.max(c.bpr0, 2);
    case GIC_CPU_ALIAS_BINPOINT:
      return Math.max(c.bpr1, 3);
    case GIC_CPU_INTACK: {
      // v2 guests acknowledge either group through GICC_IAR (AckCtl semantics simplified).
      const r = acknowledge(dist, vcpu, 0);
      return r !== SPURIOUS_INTID ? r : acknowledge(dist, vcpu, 1);
    }
    case GIC_CPU_RUNNINGPRI:
      return runningPriority(c);
    case GIC_CPU_HIGHPRI: {
      // The hardware GICV_HPPIR names the best pending interrupt of an enabled group whose
      // priority passes the PMR (running priority aside): measured on real KVM under QEMU.
      const best = highestPending(dist, vcpu, { g0: c.igrpen0 === 1, g1: c.igrpen1 === 1 }, false);
      return best !== null && (best.priority & priMask(c)) < (c.pmr & priMask(c)) ? best.intid : SPURIOUS_INTID;
    }
    case GIC_CPU_ACTIVEPRIO:
      return c.ap1r[0]! | c.ap0r[0]!;
    case GIC_CPU_IDENT:
      return GICV_IIDR;
  }
  return 0;
}

function giccWrite({ dist, vcpu }: AccessCtx, offset: number, val: number): void {
  const c = vcpu.cpuif;
  switch (offset) {
    case GIC_CPU_CTRL:
      c.igrpen0 = val & 1;
      c.igrpen1 = (val >>> 1) & 1;
      c.ackctl = (val >>> 2) & 1;
      c.fiqen = (val >>> 3) & 1;
      c.cbpr = (val >>> 4) & 1;
      c.eoimode = (val >>> 9) & 1;
      break;
    case GIC_CPU_PRIMASK:
      c.pmr = val & 0xf8;
      break;
    case GIC_CPU_BINPOINT:
      c.bpr0 = val & 7;
      break;
    case GIC_CPU_ALIAS_BINPOINT:
      c.bpr1 = val & 7;
      break;
    case GIC_CPU_EOI:
      endOfInterrupt(dist, vcpu, val & 0x3ff);
      break;
    case GIC_CPU_DEACTIVATE:
      if (c.eoimode) deactivate(dist, vcpu, val & 0x3ff);
      break;
  }
  dist.kick();
}

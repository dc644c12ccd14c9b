// LPIs as KVM keeps them: one struct vgic_irq per mapped INTID in dist->lpi_xa, edge-triggered,
// group 1, priority and enable cached from the property table in guest RAM, pending state synced
// with the per-redistributor pending table (vgic-its.c: vgic_add_lpi, update_lpi_config,
// its_sync_lpi_pending_table, vgic_its_invall; vgic-v3.c: vgic_v3_lpi_sync_pending_status,
// vgic_v3_save_pending_tables; vgic.c: vgic_get_lpi, vgic_put_irq, vgic_flush_pending_lpis).
//
// Delivery: a pending LPI sits on its target vCPU's `lpiApList`, the LPI part of KVM's ap_list;
// the CPU-interface model (cpuif.ts) takes those as candidates next to the SGIs/PPIs/SPIs.

import { EFAULT } from '../uapi/errno.ts';
import { GICR_PENDBASER_PTZ, GIC_LPI_OFFSET, LPI_PROP_ENABLED, gicrPendbaserAddress, gicrPropbaserAddress } from '../uapi/its.ts';
import { INTERRUPT_ID_BITS_ITS, VGIC_MIN_LPI } from '../uapi/kvm.ts';
import { gpaOf, readGuest, writeGuest } from './guest-mem.ts';
import { IrqConfig, VgicIrq } from './irq.ts';
import type { VgicCpu, VgicDist } from './state.ts';

/** An LPI's struct vgic_irq: edge, group 1, no active state; refcounted like the kernel's. */
export class VgicLpi extends VgicIrq {
  /**
   * References: one per ITE mapping it (any ITS), one per translation-cache entry, one while
   * it is on a vCPU's list. At zero it leaves dist->lpi_xa (vgic_put_irq).
   */
  refs = 0;
  /** The vCPU whose lpiApList holds it (irq->vcpu for LPIs), or null. */
  listedOn: VgicCpu | null = null;

  constructor(intid: number, targetVcpu: number) {
    super(intid);
    // vgic-its.c: vgic_add_lpi: config EDGE, group 1, target_vcpu from the collection
    this.config = IrqConfig.Edge;
    this.group = 1;
    this.targetVcpu = targetVcpu;
  }
}

/** irq_is_lpi() */
export function isLpi(irq: VgicIrq): irq is VgicLpi {
  return irq.intid >= VGIC_MIN_LPI;
}

/** vgic_lpis_enabled(): GICR_CTLR.EnableLPIs of this redistributor. */
export function vgicLpisEnabled(vcpu: VgicCpu): boolean {
  return vcpu.lpisEnabled;
}

/** vgic_get_irq() for an LPI INTID: the mapped LPI or undefined. */
export function vgicGetLpi(dist: VgicDist, intid: number): VgicLpi | undefined {
  return dist.lpis.get(intid);
}

/** The mapped LPIs in INTID order (xa_for_each walks the xarray by index). */
export function lpisInOrder(dist: VgicDist): VgicLpi[] {
  return [...dist.lpis.values()].sort((a, b) => a.intid - b.intid);
}

/** max_lpis_propbaser(): one past the largest LPI INTID PROPBASER.IDbits allows (at most 2^16). */
export function maxLpisPropbaser(propbaser: bigint): number {
  const idBits = Number(propbaser & 0x1fn) + 1;
  return 2 ** Math.min(idBits, INTERRUPT_ID_BITS_ITS);
}

// --- the candidate list (ap_list) -------------------------------------------------------------------

function unlist(lpi: VgicLpi): void {
  const v = lpi.listedOn;
  if (!v) return;
  const list = v.lpiApList;
  const i = list.indexOf(lpi);
  if (i >= 0) list.splice(i, 1);
  lpi.listedOn = null;
}

/**
 * An MSI for this LPI (vgic_its_trigger_msi / the cached path): pending, queued on its target,
 * and the target kicked even if the LPI was already pending and queued: vgic_queue_irq_unlock()
 * kicks in that case too ("we could be queueing an edge-triggered interrupt for which we get no
 * EOI maintenance interrupt"), so every MSI makes the vCPU look at its interrupts again.
 */
export function lpiSetPending(dist: VgicDist, lpi: VgicLpi): void {
  lpi.pendingLatch = true;
  lpiQueue(dist, lpi);
}

/**
 * vgic_queue_irq_unlock() for an LPI: a pending LPI with a target goes on that vCPU's list
 * (moving from another vCPU's list if its affinity changed) and the vCPUs are kicked.
 */
export function lpiQueue(dist: VgicDist, lpi: VgicLpi): void {
  if (lpi.pendingLatch && lpi.targetVcpu >= 0) {
    const v = dist.vcpus[lpi.targetVcpu];
    if (v && lpi.listedOn !== v) {
      if (lpi.listedOn) unlist(lpi);
      else lpi.refs++; // the list's reference (vgic_get_irq_ref in vgic_queue_irq_unlock)
      v.lpiApList.push(lpi);
      lpi.listedOn = v;
    }
  }
  dist.kick();
}

/**
 * The LPI this vCPU would present first, after pruning the list as vgic_prune_ap_list() does
 * (an LPI no longer pending leaves it, dropping the list's reference; one whose target moved goes
 * to the new vCPU's list). Only the best queued LPI is offered: enabled and pending, lowest
 * priority value, then lowest INTID. Every LPI is group 1 and has no active state, and the CPU
 * interface's checks (PMR, running priority, WFI wake-up) are monotonic in priority, so the best
 * one stands for all of them: if it cannot be presented, none can.
 */
export function forEachListedLpi(dist: VgicDist, vcpu: VgicCpu, fn: (irq: VgicIrq) => void): void {
  const list = vcpu.lpiApList;
  let best: VgicLpi | null = null;
  let w = 0;
  for (let r = 0; r < list.length; r++) {
    const lpi = list[r]!;
    if (lpi.pendingLatch && lpi.targetVcpu === vcpu.vcpuIdx) {
      if (w !== r) list[w] = lpi;
      w++;
      if (lpi.enabled && (!best || lpi.priority < best.priority || (lpi.priority === best.priority && lpi.intid < best.intid))) best = lpi;
      continue;
    }
    lpi.listedOn = null;
    if (lpi.pendingLatch && lpi.targetVcpu >= 0 && dist.vcpus[lpi.targetVcpu]) {
      // migrated: requeue on the new target without dropping the reference
      const v = dist.vcpus[lpi.targetVcpu]!;
      v.lpiApList.push(lpi);
      lpi.listedOn = v;
    } else {
      putLpi(dist, lpi);
    }
  }
  if (w !== list.length) list.length = w;
  if (best) fn(best);
}

// --- references --------------------------------------------------------------------------------------

/** vgic_get_irq_ref() */
export function getLpiRef(lpi: VgicLpi): void {
  lpi.refs++;
}

/**
 * vgic_put_irq(): drop a reference; at zero the LPI leaves dist->lpi_xa (vgic_release_lpi_locked).
 * KVM's ap_list holds a reference only while the LPI is queued there (vgic_target_oracle:
 * enabled, pending, distributor enabled). So when only this model's list still holds it and it
 * is not queued in KVM's sense, KVM would have freed it, pending state and all: so does this.
 * A queued one survives until the guest has taken it (or it stops being pending).
 */
export function putLpi(dist: VgicDist, lpi: VgicLpi): void {
  lpi.refs--;
  if (lpi.refs === 1 && lpi.listedOn && !(lpi.enabled && lpi.pendingLatch && dist.enabled)) {
    unlist(lpi);
    lpi.pendingLatch = false;
    lpi.refs = 0;
  }
  if (lpi.refs > 0) return;
  lpi.refs = 0;
  if (dist.lpis.get(lpi.intid) === lpi) dist.lpis.delete(lpi.intid);
}

// --- property and pending tables -----------------------------------------------------------------------

/**
 * update_lpi_config(): read the LPI's property byte (PROPBASER + INTID - 8192) and, unless a
 * filter vCPU is given that the LPI does not target, take its priority (bits 7:2) and enable
 * bit. 0, or -EFAULT when the byte is not in guest RAM.
 */
export function updateLpiConfig(dist: VgicDist, lpi: VgicLpi, filterVcpu: VgicCpu | null): number {
  const base = gpaOf(gicrPropbaserAddress(dist.propbaser));
  const prop = base < 0 ? null : readGuest(dist, base + lpi.intid - GIC_LPI_OFFSET, 1);
  if (!prop) return -EFAULT;
  if (!filterVcpu || filterVcpu.vcpuIdx === lpi.targetVcpu) {
    lpi.priority = prop[0]! & 0xfc; // LPI_PROP_PRIORITY
    lpi.enabled = (prop[0]! & LPI_PROP_ENABLED) !== 0;
    lpiQueue(dist, lpi);
  }
  return 0;
}

function pendingByteAddr(vcpu: VgicCpu, intid: number): number {
  const base = gpaOf(gicrPendbaserAddress(vcpu.pendbaser));
  return base < 0 ? -1 : base + Math.floor(intid / 8);
}

/**
 * vgic_v3_lpi_sync_pending_status(): when an LPI is mapped, take its pending bit from the target
 * redistributor's pending table and clear the consumed bit in guest RAM. 0 or -EFAULT.
 */
export function lpiSyncPendingStatus(dist: VgicDist, lpi: VgicLpi): number {
  const vcpu = lpi.targetVcpu >= 0 ? dist.vcpus[lpi.targetVcpu] : undefined;
  if (!vcpu) return 0;
  const ptr = pendingByteAddr(vcpu, lpi.intid);
  const b = ptr < 0 ? null : readGuest(dist, ptr, 1);
  if (!b) return -EFAULT;
  const bit = 1 << (lpi.intid % 8);
  lpi.pendingLatch = (b[0]! & bit) !== 0;
  lpiQueue(dist, lpi);
  if (lpi.pendingLatch && !writeGuest(dist, ptr, Uint8Array.of(b[0]! & ~bit))) return -EFAULT;
  return 0;
}

/**
 * vgic_add_lpi(): the existing LPI for this INTID gains a reference (its target is left alone);
 * a new one is created targeting `vcpu`, configured from the property table and given the pending
 * bit from the pending table. On a table read failure the new LPI is dropped: -EFAULT.
 */
export function vgicAddLpi(dist: VgicDist, intid: number, vcpu: VgicCpu | null): VgicLpi | number {
  const old = dist.lpis.get(intid);
  if (old) {
    old.refs++;
    return old;
  }
  const lpi = new VgicLpi(intid, vcpu ? vcpu.vcpuIdx : -1);
  lpi.refs = 1;
  dist.lpis.set(intid, lpi);
  let ret = updateLpiConfig(dist, lpi, null);
  if (!ret) ret = lpiSyncPendingStatus(dist, lpi);
  if (ret) {
    putLpi(dist, lpi);
    return ret;
  }
  return lpi;
}

/**
 * update_affinity(): retarget an LPI (only if it targets `from`, when given); its pending state
 * moves with it.
 */
export function updateAffinity(dist: VgicDist, lpi: VgicLpi, from: VgicCpu | null, to: VgicCpu | null): void {
  if (from && lpi.targetVcpu !== from.vcpuIdx) return;
  lpi.targetVcpu = to ? to.vcpuIdx : -1;
  lpiQueue(dist, lpi);
}

/** vgic_its_inv_lpi(): re-read one LPI's configuration. */
export function vgicItsInvLpi(dist: VgicDist, lpi: VgicLpi): number {
  return updateLpiConfig(dist, lpi, null);
}

/** vgic_its_invall(): re-read the configuration of every LPI targeting this vCPU (errors ignored). */
export function vgicItsInvall(dist: VgicDist, vcpu: VgicCpu): void {
  for (const lpi of lpisInOrder(dist)) updateLpiConfig(dist, lpi, vcpu);
}

/**
 * vgic_enable_lpis() -> its_sync_lpi_pending_table(): unless PENDBASER.PTZ, every mapped LPI
 * targeting this vCPU takes its pending state from the pending table (a clear bit clears it);
 * the walk stops at the first byte that is not in guest RAM.
 */
export function vgicEnableLpis(dist: VgicDist, vcpu: VgicCpu): void {
  if (vcpu.pendbaser & GICR_PENDBASER_PTZ) return;
  let lastOffset = -1;
  let byte = 0;
  for (const lpi of lpisInOrder(dist)) {
    const ptr = pendingByteAddr(vcpu, lpi.intid);
    if (ptr !== lastOffset) {
      const b = ptr < 0 ? null : readGuest(dist, ptr, 1);
      if (!b) return;
      byte = b[0]!;
      lastOffset = ptr;
    }
    if (lpi.targetVcpu === vcpu.vcpuIdx) lpi.pendingLatch = (byte & (1 << (lpi.intid % 8))) !== 0;
    lpiQueue(dist, lpi);
  }
}

/**
 * vgic_flush_pending_lpis() (EnableLPIs 1 -> 0): the LPIs KVM has queued on this vCPU's ap_list
 * (enabled and pending on an enabled distributor) lose their pending state.
 */
export function vgicFlushPendingLpis(dist: VgicDist, vcpu: VgicCpu): void {
  for (const lpi of [...vcpu.lpiApList]) {
    if (!(lpi.enabled && lpi.pendingLatch && dist.enabled && lpi.targetVcpu === vcpu.vcpuIdx)) continue;
    lpi.pendingLatch = false;
    unlist(lpi);
    putLpi(dist, lpi);
  }
}

/**
 * vgic_v3_save_pending_tables(): write every mapped LPI's pending state into its target's
 * pending table, touching only bits that differ. 0 or -EFAULT (the walk stops there).
 */
export function vgicV3SavePendingTables(dist: VgicDist): number {
  for (const lpi of lpisInOrder(dist)) {
    const vcpu = lpi.targetVcpu >= 0 ? dist.vcpus[lpi.targetVcpu] : undefined;
    if (!vcpu) continue;
    const ptr = pendingByteAddr(vcpu, lpi.intid);
    const b = ptr < 0 ? null : readGuest(dist, ptr, 1);
    if (!b) return -EFAULT;
    const bit = 1 << (lpi.intid % 8);
    if (((b[0]! & bit) !== 0) === lpi.pendingLatch) continue;
    const v = lpi.pendingLatch ? b[0]! | bit : b[0]! & ~bit;
    if (!writeGuest(dist, ptr, Uint8Array.of(v))) return -EFAULT;
  }
  return 0;
}

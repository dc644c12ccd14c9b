// LPIs as KVM keeps them: one struct vgic_irq per mapped INTID in dist->lpi_xa, edge-triggered,
// group 1, priority and enable cached from the property table in guest RAM, pending state synced
// with the per-redistributor pending table (vgic-its.c: vgic_add_lpi, update_lpi_config,
// its_sync_lpi_pending_table, vgic_its_invall; vgic-v3.c: vgic_v3_lpi_sync_pending_status,
// vgic_v3_save_pending_tables; vgic.c: vgic_get_lpi, vgic_put_irq, vgic_flush_pending_lpis).
//
// Delivery: an LPI is a VgicIrq, queued on its target vCPU's ap_list (irq.ts: ApList) by
// the same queueIrq() as SGIs, PPIs and SPIs, wherever KVM calls vgic_queue_irq_unlock() for it
// (an MSI, a configuration or pending-table sync), and pruned from it by the same rules
// (ap-list.ts); the CPU interface (cpuif.ts) decides among them all by one rule.

import { EFAULT } from '../uapi/errno.ts';
import { GICR_PENDBASER_PTZ, GIC_LPI_OFFSET, LPI_PROP_ENABLED, gicrPendbaserAddress, gicrPropbaserAddress } from '../uapi/its.ts';
import { INTERRUPT_ID_BITS_ITS, VGIC_MIN_LPI } from '../uapi/kvm.ts';
import { gpaOf, readGuest, writeGuest } from './guest-mem.ts';
import { queueIrq, unlistIrq } from './ap-list.ts';
import { IrqConfig, VgicIrq } from './irq.ts';
import type { VgicCpu, VgicDist } from './state.ts';

/** An LPI's struct vgic_irq: edge, group 1, no active state; refcounted like the kernel's. */
export class VgicLpi extends VgicIrq {
  /**
   * References held by the ITS: one per ITE mapping it (any ITS), one per translation-cache
   * entry. KVM's ap_list holds one more while the LPI is on a list (vgic_queue_irq_unlock takes
   * it, vgic_prune_ap_list drops it); here that is `list !== null`. With none left it leaves
   * dist->lpi_xa (vgic_put_irq).
   */
  refs = 0;

  constructor(
    intid: number,
    targetVcpu: number,
    private readonly dist: VgicDist,
  ) {
    super(intid);
    // vgic-its.c: vgic_add_lpi: config EDGE, group 1, target_vcpu from the collection
    this.config = IrqConfig.Edge;
    this.group = 1;
    this.targetVcpu = targetVcpu;
  }

  /** Off its ap_list (pruned or flushed): that reference goes; with no other, the LPI is freed. */
  override unlisted(): void {
    if (this.refs === 0) releaseLpi(this.dist, this);
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

// --- references ---------------------------------------------------------------------------------------

/** vgic_release_lpi_locked(): out of dist->lpi_xa. */
function releaseLpi(dist: VgicDist, lpi: VgicLpi): void {
  if (dist.lpis.get(lpi.intid) === lpi) dist.lpis.delete(lpi.intid);
}

/**
 * An MSI for this LPI (vgic_its_trigger_msi / the cached path): pending, queued on its target's
 * list if the oracle says so, and the vCPUs kicked even if it was already there:
 * vgic_queue_irq_unlock() kicks in that case too ("we could be queueing an edge-triggered
 * interrupt for which we get no EOI maintenance interrupt").
 */
export function lpiSetPending(dist: VgicDist, lpi: VgicLpi): void {
  lpi.pendingLatch = true;
  queueIrq(dist, lpi);
}

/** vgic_get_irq_ref() */
export function getLpiRef(lpi: VgicLpi): void {
  lpi.refs++;
}

/**
 * vgic_put_irq(): drop an ITE's or the cache's reference. An LPI on an ap_list keeps that list's
 * reference until the list is pruned (ap-list.ts; VgicLpi.unlisted); any other goes now, pending
 * state and all.
 */
export function putLpi(dist: VgicDist, lpi: VgicLpi): void {
  if (--lpi.refs > 0) return;
  lpi.refs = 0;
  if (lpi.list === null) releaseLpi(dist, lpi);
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
    queueIrq(dist, lpi); // vgic_queue_irq_unlock() (a disabled one leaves its list at the next prune)
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
  queueIrq(dist, lpi); // vgic_queue_irq_unlock()
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
  const lpi = new VgicLpi(intid, vcpu ? vcpu.vcpuIdx : -1, dist);
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
 * update_affinity(): retarget an LPI (only if it targets `from`, when given). Nothing is queued:
 * an LPI already on the old target's ap_list moves at that vCPU's next prune (ap-list.ts).
 */
export function updateAffinity(dist: VgicDist, lpi: VgicLpi, from: VgicCpu | null, to: VgicCpu | null): void {
  if (from && lpi.targetVcpu !== from.vcpuIdx) return;
  lpi.targetVcpu = to ? to.vcpuIdx : -1;
  dist.kick();
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
 * targeting this vCPU takes its pending state from the pending table (a clear bit clears it), and
 * every mapped LPI is queued (whatever it targets); the walk stops at the first byte that is not
 * in guest RAM.
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
    queueIrq(dist, lpi);
  }
  dist.kick();
}

/**
 * vgic_flush_pending_lpis() (EnableLPIs 1 -> 0): every LPI on this vCPU's ap_list loses its
 * pending state and leaves the list, dropping the list's reference (VgicLpi.unlisted frees one
 * nothing else references).
 */
export function vgicFlushPendingLpis(_dist: VgicDist, vcpu: VgicCpu): void {
  const lpis = vcpu.apList.items.filter(isLpi);
  for (const lpi of lpis) {
    lpi.pendingLatch = false;
    unlistIrq(lpi);
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

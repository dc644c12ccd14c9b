// The guest's view of the CPU interface: acknowledge, priority drop, deactivation, SGI
// generation and the checks that decide whether an interrupt is signalled. KVM leaves these to
// the hardware ICV/GICV interface fed from list registers (vgic-v3.c: vgic_v3_populate_lr,
// vgic_v3_fold_lr_state; vgic.c: vgic_target_oracle, kvm_vgic_vcpu_pending_irq); SGI generation
// traps to sys_regs.c: access_gic_sgi -> vgic-v3.c: vgic_v3_dispatch_sgi.

import { VGIC_MIN_LPI, VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from '../uapi/kvm.ts';
import { queueIrq } from './ap-list.ts';
import { timerWfiExpire } from './arch-timer.ts';
import { IrqConfig, type VgicIrq } from './irq.ts';
import type { CpuIfState, VgicCpu, VgicDist } from './state.ts';
import { v5IrqSignalled, v5WfiWakeup } from './v5/cpu-interface.ts';

export const SPURIOUS_INTID = 1023;

/**
 * Priority bits the virtual CPU interface implements, as a byte mask (0xF8 for 5 bits): the
 * hardware's (ICH_VTR_EL2.PRIbits), not the num_pri_bits userspace may lower through
 * ICC_CTLR_EL1 (real KVM under QEMU: the guest's PMR keeps 5 bits after such a write).
 */
export function priMask(c: CpuIfState): number {
  return (0xff << (8 - c.hwPriBits)) & 0xff;
}

/** Minimum BPR values for the implemented priority bits (hardware clamps VMCR.BPR to these). */
export function minBpr0(c: CpuIfState): number {
  return 7 - c.hwPriBits;
}
export function minBpr1(c: CpuIfState): number {
  return 8 - c.hwPriBits;
}

function aprBitIndex(c: CpuIfState, priority: number): number {
  return (priority & priMask(c)) >>> (8 - c.hwPriBits);
}

/**
 * The VMCR's trip through the hardware on every KVM_RUN: vgic_v3_load/vgic_v2_load write
 * ICH_VMCR_EL2/GICH_VMCR from vgic_cpu, vgic_v3_vmcr_sync/vgic_v2_vmcr_sync read it back at
 * vcpu_put, so what userspace reads afterwards is what the hardware kept: BPRs clamped to their
 * minimum, PMR without its unimplemented low bits (measured: GICC_BPR/ABPR and ICC_BPR0/1 read
 * 2/3 after a first run that found 0, on GICv2 and GICv3 hosts alike).
 */
export function vmcrHardwareSync(vcpu: VgicCpu): void {
  const c = vcpu.cpuif;
  c.bpr0 = Math.max(c.bpr0, minBpr0(c));
  c.bpr1 = Math.max(c.bpr1, minBpr1(c));
  c.pmr &= priMask(c);
}

/** Lowest set bit across both APR banks, or -1 (the highest active priority). */
function highestActiveBit(c: CpuIfState): number {
  for (let n = 0; n < 4; n++) {
    const w = (c.ap0r[n]! | c.ap1r[n]!) >>> 0;
    if (w) return n * 32 + (31 - Math.clz32(w & -w));
  }
  return -1;
}

/** ICC_RPR_EL1: running priority, 0xFF when idle. */
export function runningPriority(c: CpuIfState): number {
  const bit = highestActiveBit(c);
  return bit < 0 ? 0xff : (bit << (8 - c.hwPriBits)) & 0xff;
}

function groupPriorityMask(c: CpuIfState, group: number): number {
  const bpr0 = Math.max(c.bpr0, minBpr0(c));
  const bpr = group === 0 || c.cbpr ? bpr0 : Math.max(c.bpr1, minBpr1(c));
  // Group 0 (and CBPR) use BPR0, whose group-priority field is [7:BPR0+1]; Group 1 uses [7:BPR1].
  const shift = group === 0 || c.cbpr ? bpr + 1 : bpr;
  return (0xff << shift) & 0xff;
}

/** Group selection for bestPending(): bit 0 = Group 0, bit 1 = Group 1. */
const G0 = 1;
const G1 = 2;

/**
 * The highest-priority pending IRQ the interface would present (lowest INTID on a tie), for the
 * groups in `groups` (G0 | G1); optionally ignoring the PMR and running-priority checks. Only the
 * vCPU's ap_list is looked at (irq.ts, ap-list.ts), so the cost is its length, not nr_irqs; of
 * it, what vgic_flush_lr_state() puts in the list registers as pending: the interrupts the
 * oracle gives to this vCPU (enabled, pending, targeting it, distributor enabled), not active.
 */
function bestPending(dist: VgicDist, vcpu: VgicCpu, groups: number, checkPriority: boolean): VgicIrq | null {
  const items = vcpu.apList.items;
  const n = items.length;
  if (n === 0 || !dist.enabled) return null;
  const c = vcpu.cpuif;
  const pm = priMask(c);
  let pmr = 0x100;
  let rpr = 0x100;
  let gpm0 = 0xff;
  let gpm1 = 0xff;
  if (checkPriority) {
    pmr = c.pmr & pm;
    rpr = runningPriority(c);
    gpm0 = groupPriorityMask(c, 0);
    gpm1 = groupPriorityMask(c, 1);
  }
  let best: VgicIrq | null = null;
  let bestPrio = 0x100;
  for (let i = 0; i < n; i++) {
    const irq = items[i]!;
    if (!irq.enabled || irq.active || !irq.isPending() || irq.targetVcpu !== vcpu.vcpuIdx) continue;
    if (!(groups & (irq.group === 0 ? G0 : G1))) continue;
    const prio = irq.priority & pm;
    if (prio >= pmr || (prio & (irq.group === 0 ? gpm0 : gpm1)) >= rpr) continue;
    if (prio < bestPrio || (prio === bestPrio && irq.intid < best!.intid)) {
      best = irq;
      bestPrio = prio;
    }
  }
  return best;
}

/**
 * The highest-priority pending IRQ the interface would present (lowest INTID on a tie), for
 * the given groups; optionally ignoring the PMR and running-priority checks.
 */
export function highestPending(
  dist: VgicDist,
  vcpu: VgicCpu,
  groups: { g0: boolean; g1: boolean },
  checkPriority: boolean,
): VgicIrq | null {
  return bestPending(dist, vcpu, (groups.g0 ? G0 : 0) | (groups.g1 ? G1 : 0), checkPriority);
}

/** Is an IRQ (not FIQ) signalled to the vCPU right now? Group 1 with ICC_IGRPEN1 set. */
export function irqSignalled(dist: VgicDist, vcpu: VgicCpu): boolean {
  if (dist.v5) return v5IrqSignalled(dist.v5, vcpu); // GICv5 CPU interface (lib/vgic/v5)
  const c = vcpu.cpuif;
  if (dist.model === 'v2') {
    return bestPending(dist, vcpu, (c.igrpen0 === 1 ? G0 : 0) | (c.igrpen1 === 1 ? G1 : 0), true) !== null;
  }
  return c.igrpen1 === 1 && bestPending(dist, vcpu, G1, true) !== null;
}

/**
 * kvm_vgic_vcpu_pending_irq(): what wakes a WFI: an enabled, pending, inactive interrupt on the
 * vCPU's ap_list above the PMR (its target is not checked: WFI is an exit, so the list was just
 * pruned); group enables are not consulted.
 */
function vgicPendingIrq(dist: VgicDist, vcpu: VgicCpu): boolean {
  const items = vcpu.apList.items;
  if (!dist.enabled) return false;
  const c = vcpu.cpuif;
  const pm = priMask(c);
  const pmr = c.pmr & pm;
  for (let i = 0; i < items.length; i++) {
    const irq = items[i]!;
    if (irq.enabled && !irq.active && irq.isPending() && (irq.priority & pm) < pmr) return true;
  }
  return false;
}

/**
 * kvm_arch_vcpu_runnable() for a vCPU in WFI: a vGIC interrupt it can take; otherwise a guest
 * timer that will expire wakes it (kvm_timer_blocking's background timer) and is re-checked.
 */
export function wfiWakeup(dist: VgicDist, vcpu: VgicCpu): boolean {
  if (dist.v5) return v5WfiWakeup(dist.v5, vcpu); // GICv5 CPU interface (lib/vgic/v5)
  if (vgicPendingIrq(dist, vcpu)) return true;
  return timerWfiExpire(dist, vcpu) && vgicPendingIrq(dist, vcpu);
}

/** ICC_IAR{0,1}_EL1: activate the best pending IRQ of the group and raise the running priority. */
export function acknowledge(dist: VgicDist, vcpu: VgicCpu, group: 0 | 1): number {
  const c = vcpu.cpuif;
  const enabled = group === 0 ? c.igrpen0 === 1 : c.igrpen1 === 1;
  if (!enabled) return SPURIOUS_INTID;
  const irq = bestPending(dist, vcpu, group === 0 ? G0 : G1, true);
  if (!irq) return SPURIOUS_INTID;
  // An LPI has no active state: only its priority stays in the APRs until EOI (vgic-v3.c:
  // vgic_v3_fold_lr drops ICH_LR_ACTIVE_BIT for INTIDs >= VGIC_MIN_LPI).
  if (irq.intid < VGIC_MIN_LPI) irq.active = true;
  if (irq.config === IrqConfig.Edge) irq.pendingLatch = false;
  const bit = aprBitIndex(c, irq.priority);
  // A GICv2 guest runs on the memory-mapped (legacy) GICV interface of a GICv3 host, whose
  // active priorities live in ICH_AP1Rn whatever the group: vgic-mmio-v2.c: vgic_mmio_read_apr
  // ("GICv3 only uses ICH_AP1Rn for memory mapped (GICv2) guests"), so GICC_APRn saves them.
  const bank = group === 0 && dist.model === 'v3' ? c.ap0r : c.ap1r;
  bank[bit >>> 5] = (bank[bit >>> 5]! | (1 << (bit & 31))) >>> 0;
  let ret = irq.intid;
  if (dist.model === 'v2' && irq.intid < VGIC_NR_SGIS) {
    // GICv2 SGIs are presented one source at a time, the source CPU in bits [12:10].
    const src = irq.source & -irq.source;
    const srcId = src ? 31 - Math.clz32(src) : 0;
    irq.source &= ~src;
    if (irq.source) irq.pendingLatch = true;
    irq.activeSource = srcId;
    ret |= srcId << 10;
  }
  dist.kick();
  return ret;
}

/** kvm_notify_acked_irq(kvm, 0, pin): the irqfd resamplers of a VM (lib/kvm/irqfd.ts). */
export type AckNotifier = (pin: number) => void;
const ackNotifiers = new WeakMap<VgicDist, AckNotifier>();
export function setAckNotifier(dist: VgicDist, fn: AckNotifier): void {
  ackNotifiers.set(dist, fn);
}

/**
 * Deactivate an interrupt; a level IRQ's latch goes when its LR retires (vgic_v3_fold_lr_state).
 * The INTID is the LR's: 10 bits for a GICv2 guest (GICH_LR_VIRTUALID; bits 12:10 of a v2 EOIR or
 * DIR write carry the SGI source), the whole value for GICv3 (ICH_LR_VIRTUAL_ID_MASK). An LPI has
 * no active state, so there is nothing to deactivate (vgic_v3_fold_lr).
 */
export function deactivate(dist: VgicDist, vcpu: VgicCpu, intid: number): void {
  const id = dist.model === 'v2' ? intid & 0x3ff : intid;
  if ((id >= 1020 && id <= 1023) || id >= VGIC_MIN_LPI) return;
  const irq = dist.getIrq(vcpu, id);
  if (!irq || !irq.active) return;
  irq.active = false;
  if (irq.config === IrqConfig.Level) {
    irq.pendingLatch = false;
    // vgic_v3_fold_lr(): a level SPI's LR carries ICH_LR_EOI (not for HW-mapped IRQs); once it
    // comes back deactivated the irqfd resamplers are told (kvm_notify_acked_irq).
    if (!irq.hw && irq.intid >= VGIC_NR_PRIVATE_IRQS) ackNotifiers.get(dist)?.(irq.intid - VGIC_NR_PRIVATE_IRQS);
  }
  dist.kick();
}

/** ICC_EOIR{0,1}_EL1: drop the highest active priority (whatever INTID was written). */
export function endOfInterrupt(dist: VgicDist, vcpu: VgicCpu, intid: number): void {
  const c = vcpu.cpuif;
  const bit = highestActiveBit(c);
  if (bit >= 0) {
    const clear = ~(1 << (bit & 31));
    c.ap0r[bit >>> 5] = (c.ap0r[bit >>> 5]! & clear) >>> 0;
    c.ap1r[bit >>> 5] = (c.ap1r[bit >>> 5]! & clear) >>> 0;
  }
  if (!c.eoimode) deactivate(dist, vcpu, intid);
  dist.kick();
}

/**
 * vgic_v3_dispatch_sgi(): ICC_SGI1R_EL1 may raise an SGI of either group; SGI0R and ASGI1R only
 * Group 0 ones. IRM = all but self; RS is ignored, so TargetList covers Aff0 0-15.
 */
export function dispatchSgi(dist: VgicDist, source: VgicCpu, reg: bigint, allowGroup1: boolean): void {
  const sgi = Number((reg >> 24n) & 0xfn);
  const targetList = Number(reg & 0xffffn);
  const aff1 = Number((reg >> 16n) & 0xffn);
  const aff2 = Number((reg >> 32n) & 0xffn);
  const aff3 = Number((reg >> 48n) & 0xffn);
  const broadcast = ((reg >> 40n) & 1n) === 1n;
  for (const v of dist.vcpus) {
    if (broadcast) {
      if (v === source) continue;
    } else {
      const m = v.mpidr;
      if (((m >>> 8) & 0xff) !== aff1 || ((m >>> 16) & 0xff) !== aff2 || ((m >>> 24) & 0xff) !== aff3) continue;
      if (!(targetList & (1 << (m & 0xf)))) continue;
    }
    const irq = v.privateIrqs[sgi]!;
    if (!irq.group || allowGroup1) {
      irq.pendingLatch = true;
      queueIrq(dist, irq);
    }
  }
  dist.kick();
}


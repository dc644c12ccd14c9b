// Who is on which vCPU's ap_list (irq.ts: ApList), as KVM decides it (vgic.c):
//
// - vgic_target_oracle(): an active interrupt belongs to the vCPU whose list holds it (else its
//   target); an enabled, pending one to its target vCPU, unless the distributor is disabled;
//   anything else to nobody.
// - vgic_queue_irq_unlock(): called by every path that may make an interrupt deliverable (MMIO
//   and uaccess writes to ISENABLER, ISPENDR, ISACTIVER, IGROUPR, SGIR/SPENDSGIR, ICC_SGI*R,
//   KVM_IRQ_LINE and the arch timer through kvm_vgic_inject_irq, LEVEL_INFO, MSIs and LPI
//   configuration/pending-table syncs): if the interrupt is on no list and the oracle names a
//   vCPU, it joins that vCPU's list. An interrupt already on a list stays where it is.
// - vgic_prune_ap_list(), at every exit of the vCPU (kvm_vgic_sync_hwstate): each interrupt the
//   oracle no longer gives to this vCPU leaves its list, moving to the list of the vCPU it now
//   names, if any.
//
// Nothing else moves an interrupt. In particular enabling the distributor only kicks the vCPUs
// (vgic-mmio-v3.c/vgic-mmio-v2.c: vgic_mmio_write_v{3,2}_misc -> vgic_kick_vcpus), and a change
// of target (IROUTER, ITARGETSR, MOVI) or configuration (ICFGR) queues nothing. So an interrupt
// that became pending while GICD_CTLR was off, or was pruned while it was off, stays undelivered
// after the distributor is enabled again until something queues it (measured on 6.1.164,
// 6.12.117 and 7.2.13 under QEMU: scenarios/v3/flows.scn, scenarios/v2/flows.scn).
//
// The model's exits, where a vCPU prunes its list: every guest access to a trapping vGIC frame
// (distributor, redistributor, ITS; io.ts), a trapped ICC_SGI*R write (guest-sysregs.ts), WFI and
// every return from the vCPU loop (lib/kvm/vcpu.ts: KVM_RUN returning, a preempted slice of the
// thread scheduler, which is where a real vCPU takes a host tick). The GICv2 CPU interface and
// the other ICC_* registers are hardware (GICV, ICV_*): no exit.

import type { VgicIrq } from './irq.ts';
import type { VgicCpu, VgicDist } from './state.ts';

/** vgic_target_oracle(): the index of the vCPU this interrupt should be listed on, or -1. */
export function targetOracle(dist: VgicDist, irq: VgicIrq): number {
  // "If the interrupt is active, it must stay on the current vcpu"
  if (irq.active) return irq.list ? irq.list.vcpuIdx : irq.targetVcpu;
  // "If the distributor is disabled, pending interrupts shouldn't be forwarded."
  if (irq.enabled && irq.isPending()) return dist.enabled ? irq.targetVcpu : -1;
  return -1;
}

/** vgic_queue_irq_unlock(): onto the oracle's vCPU's list unless already on one; the vCPUs are kicked. */
export function queueIrq(dist: VgicDist, irq: VgicIrq): void {
  if (irq.list === null) {
    const to = targetOracle(dist, irq);
    const vcpu = to >= 0 ? dist.vcpus[to] : undefined;
    if (vcpu) vcpu.apList.add(irq);
  }
  dist.kick();
}

/** vgic_prune_ap_list(): drop or move what the oracle no longer gives to `vcpu`. */
export function pruneApList(dist: VgicDist, vcpu: VgicCpu): void {
  const list = vcpu.apList;
  const items = list.items;
  // Backwards: remove() moves the last item, already looked at, into the freed slot.
  for (let i = items.length - 1; i >= 0; i--) {
    const irq = items[i]!;
    const to = targetOracle(dist, irq);
    if (to === vcpu.vcpuIdx) continue;
    list.remove(irq);
    const dest = to >= 0 ? dist.vcpus[to] : undefined;
    if (dest) {
      // "This interrupt looks like it has to be migrated": onto the new target's list, kicked.
      dest.apList.add(irq);
      dist.kick();
    } else {
      irq.unlisted();
    }
  }
}

/** Take an interrupt off its list whatever the oracle says (vgic_flush_pending_lpis). */
export function unlistIrq(irq: VgicIrq): void {
  if (!irq.list) return;
  irq.list.remove(irq);
  irq.unlisted();
}

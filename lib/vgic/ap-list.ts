// Which interrupts sit on a vCPU's ap_list (vgic.c: vgic_queue_irq_unlock, vgic_prune_ap_list,
// vgic_target_oracle): only those reach the list registers, so only those can be signalled,
// acknowledged or wake a WFI. KVM queues an interrupt when something makes it pending, enabled
// or active, and prunes it at the next exit of its vCPU once the oracle says no; enabling the
// distributor only kicks the vCPUs (vgic-mmio-v3.c/vgic-mmio-v2.c: vgic_mmio_write_v{3,2}_misc).
// So an interrupt that became pending while GICD_CTLR was off, or that was pruned while it was
// off, stays undelivered after the distributor is enabled again until something requeues it
// (measured on 6.1.164, 6.12.117 and 7.2.13 under QEMU).

import type { VgicIrq } from './irq.ts';
import type { VgicCpu, VgicDist } from './state.ts';

/** vgic_target_oracle(): active, or enabled and pending on an enabled distributor. */
export function targetOracle(dist: VgicDist, irq: VgicIrq): boolean {
  if (irq.active) return true;
  return irq.enabled && irq.isPending() && dist.enabled;
}

/** vgic_queue_irq_unlock(): put the interrupt on its vCPU's ap_list if the oracle wants it. */
export function queueIrq(dist: VgicDist, irq: VgicIrq): void {
  if (!irq.queued && targetOracle(dist, irq)) irq.queued = true;
  dist.kick();
}

/** vgic_prune_ap_list() at an exit of `vcpu`: drop what the oracle no longer wants. */
export function pruneApList(dist: VgicDist, vcpu: VgicCpu): void {
  for (const irq of vcpu.privateIrqs) if (irq.queued && !targetOracle(dist, irq)) irq.queued = false;
  for (const irq of dist.spis) {
    if (irq.queued && irq.targetVcpu === vcpu.vcpuIdx && !targetOracle(dist, irq)) irq.queued = false;
  }
}

// The sanity checks a VMM makes around its accesses (CheckStep), on save and on restore.

import type { VgicSnapshot } from '../schema.ts';
import type { SequenceRun } from './run.ts';
import type { CheckStep } from './types.ts';

/** GICD_TYPER.ITLinesNumber → number of IRQs, as QEMU computes it ((reg & 0x1f) + 1) * 32. */
const typerIrqs = (typer: number): number => ((typer & 0x1f) + 1) * 32;
/** GICv2 GICD_TYPER.CPUNumber + 1. */
const typerCpus = (typer: number): number => ((typer & 0xe0) >>> 5) + 1;
/** arm_gic_internal.h GIC_MAXIRQ. */
const GIC_MAXIRQ = 1020;

export function checkOnSave(run: SequenceRun, what: CheckStep['what']): void {
  switch (what) {
    case 'qemu-v3-typer': {
      // kvm_arm_gicv3_check(): "Model requests %u IRQs, but kernel supports max %u" -> abort()
      const n = typerIrqs(run.readGicdTyper());
      if (n < run.nrIrqs) run.check('GICD_TYPER check', `model requests ${run.nrIrqs} IRQs, but kernel supports max ${n}`);
      return;
    }
    case 'qemu-v2-typer': {
      // kvm_arm_gic_get(): "Too many IRQs reported from the kernel" -> abort()
      const n = typerIrqs(run.readGicdTyper());
      if (n > GIC_MAXIRQ) run.check('GICD_TYPER check', `too many IRQs reported from the kernel: ${n}`);
      return;
    }
    case 'vcpu-count':
      return;
  }
}

export function checkOnRestore(run: SequenceRun, what: CheckStep['what'], snap: VgicSnapshot): void {
  switch (what) {
    case 'qemu-v3-typer': {
      const n = typerIrqs(run.readGicdTyper());
      if (n < snap.nrIrqs) run.check('GICD_TYPER check', `model requests ${snap.nrIrqs} IRQs, but kernel supports max ${n}`);
      return;
    }
    case 'qemu-v2-typer': {
      // kvm_arm_gic_put(): fewer IRQs or another CPU count than saved -> abort()
      const t = run.readGicdTyper();
      if (typerIrqs(t) < snap.nrIrqs) run.check('GICD_TYPER check', `restoring ${snap.nrIrqs} IRQs, but kernel supports max ${typerIrqs(t)}`);
      if (typerCpus(t) !== snap.vcpus.length) run.check('GICD_TYPER check', `restoring ${snap.vcpus.length} CPU interfaces, kernel only has ${typerCpus(t)}`);
      return;
    }
    case 'vcpu-count':
      // restore_state(): mpidrs.len() != state.gic_vcpu_states.len() -> GicError::InconsistentVcpuCount
      if (run.vm.vcpus.length !== snap.vcpus.length) {
        run.check('vCPU count', `InconsistentVcpuCount: ${run.vm.vcpus.length} vCPUs, snapshot has ${snap.vcpus.length}`);
      }
      return;
  }
}

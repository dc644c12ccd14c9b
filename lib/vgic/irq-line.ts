// KVM_IRQ_LINE on a GICv2/GICv3 VM with an in-kernel vGIC (arm.c: kvm_vm_ioctl_irq_line, the
// PPI and SPI cases) and the kernel-version differences real kernels showed in the order of its
// checks and in what its vCPU field names (profiles.ts: irqLineOrder, irqLineVcpu; scenarios
// v3-irq-line-order-before-init, v3-irq-line-vcpu-id, v2-irq-line-lazy-init-*). GICv5 VMs:
// v5/irq-line.ts. KVM_ARM_IRQ_TYPE_CPU and unknown types: lib/kvm/vm.ts.

import { EINVAL } from '../uapi/errno.ts';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from '../uapi/kvm.ts';
import { vgicInjectIrq, vgicLazyInit } from './init.ts';
import type { VgicCpu, VgicDist } from './state.ts';

/** The vCPU KVM_IRQ_LINE's vCPU field names: by id (kvm_get_vcpu_by_id) or, on 6.1 and before, by index (kvm_get_vcpu). */
export function irqLineVcpu(dist: VgicDist, field: number): VgicCpu | undefined {
  return dist.profile.irqLineVcpu === 'index' ? dist.vcpus[field] : dist.vcpuById(field);
}

/**
 * KVM_ARM_IRQ_TYPE_PPI: 7.2 initialises first (vgic_lazy_init: EBUSY on an uninitialised GICv3,
 * a GICv2 is initialised even if the line is then refused); then the vCPU (EINVAL), the INTID
 * (16..31, else EINVAL) and kvm_vgic_inject_irq, which on 6.1/6.12 does the lazy init. On 6.1 the
 * vCPU found by index hands its vcpu_id to kvm_vgic_inject_irq(kvm, cpuid, ...), which looks that
 * up as an index again (EINVAL if there is none).
 */
export function vgicIrqLinePpi(dist: VgicDist, field: number, num: number, level: boolean): number {
  if (dist.profile.irqLineOrder === 'init-first') {
    const ret = vgicLazyInit(dist);
    if (ret) return ret;
  }
  const vcpu = irqLineVcpu(dist, field);
  if (!vcpu) return -EINVAL;
  if (num < VGIC_NR_SGIS || num >= VGIC_NR_PRIVATE_IRQS) return -EINVAL;
  if (dist.profile.irqLineVcpu === 'index') {
    const ret = vgicLazyInit(dist);
    if (ret) return ret;
    const target = dist.vcpus[vcpu.vcpuId];
    if (!target) return -EINVAL;
    return vgicInjectIrq(dist, target, num, level);
  }
  return vgicInjectIrq(dist, vcpu, num, level);
}

/** KVM_ARM_IRQ_TYPE_SPI: (7.2: lazy init,) INTID >= 32 (else EINVAL), kvm_vgic_inject_irq. */
export function vgicIrqLineSpi(dist: VgicDist, num: number, level: boolean): number {
  if (dist.profile.irqLineOrder === 'init-first') {
    const ret = vgicLazyInit(dist);
    if (ret) return ret;
  }
  if (num < VGIC_NR_PRIVATE_IRQS) return -EINVAL;
  return vgicInjectIrq(dist, null, num, level);
}

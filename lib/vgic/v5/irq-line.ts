// KVM_IRQ_LINE on a GICv5 VM (arm.c: kvm_vm_ioctl_irq_line, the vgic_is_v5() branches, 7.2) and
// the injection behind it (vgic.c: kvm_vgic_inject_irq, vgic_validate_injection).

import { EINVAL } from '../../uapi/errno.ts';
import { VGIC_V5_NR_PRIVATE_IRQS } from '../../uapi/gicv5.ts';
import { KVM_ARM_IRQ_TYPE_PPI, KVM_ARM_IRQ_TYPE_SPI } from '../../uapi/kvm.ts';
import { vgicLazyInit } from '../init.ts';
import type { V5Irq } from './irq.ts';
import type { Gicv5Vgic } from './vgic.ts';

/**
 * A PPI: vgic_lazy_init (EBUSY before CTRL_INIT), the vCPU by id (EINVAL), the number below
 * VGIC_V5_NR_PRIVATE_IRQS (64) and in gicv5_vm.userspace_ppis, else EINVAL. An SPI: lazy init,
 * then vgic_get_irq() of SPI `num`, which exists only below nr_spis (EINVAL otherwise; 7.2 has no
 * non-private GICv5 IRQs at all: "Non-private IRQs are not yet implemented for GICv5").
 * KVM_ARM_IRQ_TYPE_CPU and unknown types are the caller's (vm.ts) as for every GIC.
 */
export function v5IrqLine(v5: Gicv5Vgic, type: number, vcpuId: number, num: number, level: boolean): number {
  const ret = vgicLazyInit(v5.dist);
  if (ret) return ret;
  let irq: V5Irq | undefined;
  if (type === KVM_ARM_IRQ_TYPE_PPI) {
    const vcpu = v5.vcpuById(vcpuId);
    if (!vcpu) return -EINVAL;
    if (num >= VGIC_V5_NR_PRIVATE_IRQS) return -EINVAL;
    if (!((v5.userspacePpis >> BigInt(num)) & 1n)) return -EINVAL;
    irq = v5.cpu(vcpu).ppis[num];
  } else if (type === KVM_ARM_IRQ_TYPE_SPI) {
    irq = v5.spis[num];
  }
  if (!irq) return -EINVAL;
  return injectLine(v5, irq, level);
}

/**
 * kvm_vgic_inject_irq() for userspace (no owner): a level interrupt follows the line; an edge one
 * latches on a rising level and ignores a falling one ("once the edge has made the SPI pending,
 * it cannot be recalled", IRS-series selftest test_vgic_v5_spis).
 */
function injectLine(v5: Gicv5Vgic, irq: V5Irq, level: boolean): number {
  if (irq.owner !== null) return 0; // vgic_validate_injection: not userspace's to drive
  if (irq.level) {
    if (irq.lineLevel === level) return 0;
    irq.lineLevel = level;
  } else {
    if (!level) return 0;
    irq.pendingLatch = true;
  }
  v5.kick();
  return 0;
}

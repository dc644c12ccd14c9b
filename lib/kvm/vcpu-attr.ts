// KVM_{SET,GET,HAS}_DEVICE_ATTR on a vCPU fd (arch/arm64/kvm/guest.c: kvm_arm_vcpu_arch_*_attr):
// the group picks the device; only the timer group (KVM_ARM_VCPU_TIMER_CTRL, arch_timer.c) is
// modelled. The PMU (KVM_ARM_VCPU_PMU_V3_CTRL) and PV time groups are not: a VM here has no PMU
// and no stolen-time region, and those groups answer ENXIO like an unknown group.

import { ENXIO } from '../uapi/errno.ts';
import { KVM_ARM_VCPU_TIMER_CTRL } from '../uapi/kvm-irq.ts';
import { timerGetAttr, timerHasAttr, timerSetAttr } from '../vgic/arch-timer.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import type { KvmVcpu } from './vcpu.ts';

/** kvm_arm_vcpu_arch_set_attr() */
export function vcpuSetAttr(vcpu: KvmVcpu, group: number, attr: bigint, buf: UserBuf | null): number {
  if (group === KVM_ARM_VCPU_TIMER_CTRL) return timerSetAttr(vcpu.vm.dist, attr, buf);
  return -ENXIO;
}

/** kvm_arm_vcpu_arch_get_attr() */
export function vcpuGetAttr(vcpu: KvmVcpu, group: number, attr: bigint, buf: UserBuf | null): number {
  if (group === KVM_ARM_VCPU_TIMER_CTRL) return timerGetAttr(vcpu.vm.dist, attr, buf);
  return -ENXIO;
}

/** kvm_arm_vcpu_arch_has_attr() */
export function vcpuHasAttr(_vcpu: KvmVcpu, group: number, attr: bigint): number {
  if (group === KVM_ARM_VCPU_TIMER_CTRL) return timerHasAttr(attr);
  return -ENXIO;
}

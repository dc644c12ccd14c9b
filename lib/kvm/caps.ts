// KVM_CHECK_EXTENSION on /dev/kvm (vm = null) and on a VM fd, as an arm64 host with a GICv3 and
// an in-kernel vGIC answers it: virt/kvm/kvm_main.c: kvm_vm_ioctl_check_extension_generic, then
// arch/arm64/kvm/arm.c: kvm_vm_ioctl_check_extension. Unknown capabilities give 0.
//
// The emulated host: GICv3 (vgic_present), no nested virt (KVM_CAP_ARM_EL2 = 0, as the model has
// no EL2), no MTE, SVE or pointer authentication, no PMU (the model has none), 40-bit IPA limit,
// 8 online CPUs, not pKVM. KVM_CAP_SIGNAL_MSI is 1 whether or not the VM has an ITS
// (CONFIG_HAVE_KVM_MSI is always selected on arm64; without an ITS the ioctl itself fails with
// ENODEV), while KVM_CAP_MSI_DEVID reports the VM's msis_require_devid (set by creating an ITS).

import { EINVAL } from '../uapi/errno.ts';
import * as C from '../uapi/kvm-irq.ts';
import { VGIC_V3_MAX_CPUS } from '../uapi/kvm.ts';
import { KVM_USER_MEM_SLOTS } from './memory.ts';
import type { KvmVm } from './vm.ts';

/** num_online_cpus() of the emulated host. */
export const HOST_ONLINE_CPUS = 8;
/** get_kvm_ipa_limit() of the emulated host. */
export const HOST_IPA_LIMIT = 40;

/** KVM_CAP_* -> value, for capabilities whose answer does not depend on the VM. */
const FIXED = new Map<number, number>([
  // kvm_vm_ioctl_check_extension_generic
  [C.KVM_CAP_SYNC_MMU, 1],
  [C.KVM_CAP_USER_MEMORY, 1],
  [C.KVM_CAP_USER_MEMORY2, 1],
  [C.KVM_CAP_DESTROY_MEMORY_REGION_WORKS, 1],
  [C.KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, 1],
  [C.KVM_CAP_INTERNAL_ERROR_DATA, 1],
  [C.KVM_CAP_SIGNAL_MSI, 1], // CONFIG_HAVE_KVM_MSI
  [C.KVM_CAP_IRQFD, 1], // CONFIG_HAVE_KVM_IRQCHIP
  [C.KVM_CAP_IOEVENTFD_ANY_LENGTH, 1],
  [C.KVM_CAP_CHECK_EXTENSION_VM, 1],
  [C.KVM_CAP_ENABLE_CAP_VM, 1],
  [C.KVM_CAP_HALT_POLL, 1],
  [C.KVM_CAP_IRQ_ROUTING, C.KVM_MAX_IRQ_ROUTES], // CONFIG_HAVE_KVM_IRQ_ROUTING
  [C.KVM_CAP_NR_MEMSLOTS, KVM_USER_MEM_SLOTS],
  [C.KVM_CAP_BINARY_STATS_FD, 1],
  [C.KVM_CAP_SYSTEM_EVENT_DATA, 1],
  [C.KVM_CAP_DEVICE_CTRL, 1],
  // kvm_vm_ioctl_check_extension (arm.c)
  [C.KVM_CAP_IRQCHIP, 1], // vgic_present
  [C.KVM_CAP_IOEVENTFD, 1],
  [C.KVM_CAP_ONE_REG, 1],
  [C.KVM_CAP_ARM_PSCI, 1],
  [C.KVM_CAP_ARM_PSCI_0_2, 1],
  [C.KVM_CAP_READONLY_MEM, 1],
  [C.KVM_CAP_MP_STATE, 1],
  [C.KVM_CAP_IMMEDIATE_EXIT, 1],
  [C.KVM_CAP_VCPU_EVENTS, 1],
  [C.KVM_CAP_ARM_IRQ_LINE_LAYOUT_2, 1],
  [C.KVM_CAP_ARM_NISV_TO_USER, 1],
  [C.KVM_CAP_ARM_INJECT_EXT_DABT, 1],
  [C.KVM_CAP_SET_GUEST_DEBUG, 1],
  [C.KVM_CAP_VCPU_ATTRIBUTES, 1],
  [C.KVM_CAP_PTP_KVM, 1],
  [C.KVM_CAP_ARM_SYSTEM_SUSPEND, 1],
  [C.KVM_CAP_IRQFD_RESAMPLE, 1],
  [C.KVM_CAP_COUNTER_OFFSET, 1],
  [C.KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, 1],
  [C.KVM_CAP_ARM_SEA_TO_USER, 1],
  [C.KVM_CAP_ARM_SET_DEVICE_ADDR, 1],
  [C.KVM_CAP_NR_VCPUS, Math.min(HOST_ONLINE_CPUS, VGIC_V3_MAX_CPUS)],
  [C.KVM_CAP_ARM_USER_IRQ, 1], // "1: EL1_VTIMER, EL1_PTIMER, and PMU"
  [C.KVM_CAP_ARM_MTE, 0],
  [C.KVM_CAP_ARM_EL1_32BIT, 0],
  [C.KVM_CAP_ARM_EL2, 0],
  [C.KVM_CAP_ARM_EL2_E2H0, 0],
  [C.KVM_CAP_ARM_PMU_V3, 0],
  [C.KVM_CAP_ARM_VM_IPA_SIZE, HOST_IPA_LIMIT],
]);

/**
 * kvm_vm_ioctl_check_extension_generic(kvm, cap): the value, or -errno (KVM_CAP_MSI_DEVID on
 * /dev/kvm is EINVAL: "if (!kvm) r = -EINVAL").
 */
export function kvmCheckExtension(vm: KvmVm | null, cap: number): number {
  switch (cap) {
    case C.KVM_CAP_MAX_VCPUS:
    case C.KVM_CAP_MAX_VCPU_ID:
      // kvm->max_vcpus, else kvm_arm_default_max_vcpus() (the GICv3 limit).
      return vm ? vm.maxVcpus : VGIC_V3_MAX_CPUS;
    case C.KVM_CAP_MSI_DEVID:
      return vm ? (vm.dist.msisRequireDevid ? 1 : 0) : -EINVAL;
  }
  return FIXED.get(cap) ?? 0;
}

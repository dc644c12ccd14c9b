// KVM_SIGNAL_MSI: userspace injects an MSI into the VM (virt/kvm/kvm_main.c: kvm_vm_ioctl ->
// virt/kvm/irqchip.c: kvm_send_userspace_msi -> arch/arm64/kvm/vgic/vgic-irqfd.c: kvm_set_msi ->
// vgic-its.c: vgic_its_inject_msi). Returns 1 when delivered, 0 when the guest's ITS mappings
// block it, -errno otherwise.

import { EFAULT, EINVAL, EIO, ENODEV } from '../uapi/errno.ts';
import { KVM_MSI_VALID_DEVID, type KvmMsi } from '../uapi/its.ts';
import { vgicItsInjectMsi } from '../vgic/its/translate.ts';
import type { KvmVm } from './vm.ts';

/**
 * The KVM_SIGNAL_MSI ioctl. In KVM's order: a dead VM is EIO (kvm_vm_ioctl), a NULL argument
 * EFAULT (copy_from_user), no in-kernel irqchip or a flag other than KVM_MSI_VALID_DEVID EINVAL,
 * no ITS ENODEV (kvm_set_msi), then the ITS: a cached translation delivers at once (1); else
 * EINVAL without KVM_MSI_VALID_DEVID or for a doorbell outside every ITS frame, EBUSY with the ITS
 * or the target's LPIs disabled, 0 for an unmapped DeviceID/EventID or collection, 1 delivered.
 */
export function vmSignalMsi(vm: KvmVm, msi: KvmMsi | null): number {
  if (vm.dead) return -EIO;
  if (!msi) return -EFAULT;
  if (!vm.dist.created || (msi.flags >>> 0) & ~KVM_MSI_VALID_DEVID) return -EINVAL;
  return kvmSetMsi(vm, msi, 1);
}

/**
 * kvm_set_msi() (vgic-irqfd.c): the MSI routing entry's injection, shared by KVM_SIGNAL_MSI and
 * irqfd/GSI routing (KVM_IRQ_ROUTING_MSI entries): ENODEV without an ITS, -1 for level 0, else
 * vgic_its_inject_msi's 1 / 0 / -errno. (irqfd's atomic fast path is the cache alone:
 * vgic/its/translate.ts injectCachedTranslation.)
 */
export function kvmSetMsi(vm: KvmVm, msi: KvmMsi, level: number): number {
  if (!vm.dist.hasIts) return -ENODEV;
  if (!level) return -1;
  return vgicItsInjectMsi(vm.dist, msi);
}

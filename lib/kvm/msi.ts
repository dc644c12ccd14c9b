// KVM_SIGNAL_MSI: userspace injects an MSI into the VM (virt/kvm/kvm_main.c: kvm_vm_ioctl ->
// virt/kvm/irqchip.c: kvm_send_userspace_msi -> arch/arm64/kvm/vgic/vgic-irqfd.c: kvm_set_msi ->
// vgic-its.c: vgic_its_inject_msi). Returns 1 when delivered, 0 when the guest's ITS mappings
// block it, -errno otherwise. kvm_set_msi itself is the MSI route's set() (irq-routing.ts).

import { EFAULT, EINVAL, EIO } from '../uapi/errno.ts';
import type { KvmMsi } from '../uapi/its.ts';
import { KVM_MSI_VALID_DEVID } from '../uapi/kvm-irq.ts';
import { kvmSetMsi } from './irq-routing.ts';
import type { KvmVm } from './vm.ts';

/**
 * The KVM_SIGNAL_MSI ioctl. In KVM's order: a dead VM is EIO (kvm_vm_ioctl), a NULL argument
 * EFAULT (copy_from_user), no in-kernel irqchip or a flag other than KVM_MSI_VALID_DEVID EINVAL
 * (kvm_send_userspace_msi), no ITS ENODEV (kvm_set_msi), then the ITS: a cached translation
 * delivers at once (1); else EINVAL without KVM_MSI_VALID_DEVID or for a doorbell outside every
 * ITS frame, EBUSY with the ITS or the target's LPIs disabled, 0 for an unmapped DeviceID/EventID
 * or collection, 1 delivered.
 */
export function vmSignalMsi(vm: KvmVm, msi: KvmMsi | null): number {
  if (vm.dead) return -EIO;
  if (!msi) return -EFAULT;
  if (!vm.dist.created || (msi.flags >>> 0) & ~KVM_MSI_VALID_DEVID) return -EINVAL;
  return kvmSetMsi(vm, msi, true);
}

// Shared set-up for the GICv5 unit tests (lib/vgic/v5/*.test.ts; not used by the model).

import type { Guest, GuestProgram } from '../../lib/guest/index.ts';
import {
  GICV5_IRS_CONFIG_BASE_GPA,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  type Gicv5HostOptions,
  type KvmVcpu,
  type KvmVm,
  __kvmDeviceAttrSet,
  kvmCreateDevice,
  u32,
  u64,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../../lib/host/index.ts';
import type { Gicv5Vgic } from '../../lib/vgic/v5/vgic.ts';

export interface V5Fixture {
  vm: KvmVm;
  fd: number;
  vcpus: KvmVcpu[];
  v5: Gicv5Vgic;
}

/**
 * A VM on a GICv5 host with a v5 device and `vcpus` vCPUs (ids 0..n-1). `addr` sets the IRS at
 * GICV5_IRS_CONFIG_BASE_GPA, `nrSpis` sets NR_IRQS, `init` does CTRL_INIT (each asserted).
 */
export function v5Vm(
  o: { host?: Gicv5HostOptions; vcpus?: number; addr?: boolean; nrSpis?: number; init?: boolean; guest?: (g: Guest) => GuestProgram } = {},
): V5Fixture {
  const vm = vmCreateBarebones({ gicv5: o.host ?? {} });
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V5);
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < (o.vcpus ?? 1); i++) vcpus.push(vmVcpuAdd(vm, i, o.guest ?? null));
  const must = (r: number, what: string): void => {
    if (r) throw new Error(`${what}: ${r}`);
  };
  if (o.nrSpis !== undefined) must(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(o.nrSpis)), 'NR_IRQS');
  if (o.addr ?? true) must(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V5_ADDR_TYPE_IRS, u64(GICV5_IRS_CONFIG_BASE_GPA)), 'ADDR');
  if (o.init ?? true) must(__kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null), 'CTRL_INIT');
  return { vm, fd, vcpus, v5: vm.dist.v5! };
}

/** A guest that exits once (GUEST_DONE). */
export function* doneGuestV5(g: Guest): GuestProgram {
  yield* g.done();
}

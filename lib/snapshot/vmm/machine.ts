// VMs built the way each VMM builds them, so a restore lands on the same kind of vGIC the real
// destination would have: vCPUs first (KVM refuses vCPUs after vgic_init), then the device
// ioctls in the VMM's order, with its addresses and its nr_irqs.
// - QEMU (hw/arm/virt.c + arm_gicv3_kvm.c / arm_gic_kvm.c realize): create, NR_IRQS = 256 + 32,
//   CTRL_INIT, then the frame addresses (kvm_arm_register_device, applied at machine-init-done).
//   virt memmap: GIC_DIST 0x08000000, GIC_CPU 0x08010000, GIC_REDIST 0x080A0000. No ITS here.
// - Firecracker (gic/gicv3/mod.rs, gicv2/mod.rs create): create, DIST and legacy REDIST (or CPU)
//   addresses below MAPPED_IO_START (1 GiB), NR_IRQS = IRQ_MAX (128), CTRL_INIT.

import {
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V2_CPU_SIZE,
  KVM_VGIC_V2_DIST_SIZE,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  KVM_VGIC_V3_DIST_SIZE,
  KVM_VGIC_V3_REDIST_SIZE,
  type GuestCode,
  type KvmVcpu,
  type KvmVm,
  REDIST_REGION_ATTR_ADDR,
  type VmOptions,
  kvmCreateDevice,
  kvmDeviceAttrSet,
  kvmVmFree,
  resolveProfile,
  u32,
  u64,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../../host/index.ts';
import type { GicModel, VmmStyle } from '../schema.ts';
import { type VgicHandle, kvmDeviceIo } from './device.ts';
import { FC_IRQ_MAX } from './firecracker-v3.ts';

/** Guest-physical frame bases, as the guest's firmware tables would describe them. */
export interface GicLayout {
  readonly dist: number;
  /** GICv3: the first redistributor (vCPU n's is at redist + n·128 KiB); -1 on GICv2. */
  readonly redist: number;
  /** GICv2: the CPU interface; -1 on GICv3. */
  readonly cpu: number;
}

export interface MachineSpec {
  readonly vmm: VmmStyle;
  readonly model: GicModel;
  readonly nrVcpus: number;
  /** Default: QEMU virt's 288, Firecracker's IRQ_MAX (128). */
  readonly nrIrqs?: number;
  /** Host-kernel profile; default $VGIC_PROFILE, else the newest. */
  readonly profile?: string;
  readonly guestCode?: GuestCode | null;
  readonly vmOptions?: Omit<VmOptions, 'profile'>;
}

export interface VmmMachine {
  readonly spec: MachineSpec;
  readonly vm: KvmVm;
  readonly vcpus: readonly KvmVcpu[];
  readonly gicFd: number;
  readonly nrIrqs: number;
  readonly layout: GicLayout;
  /** What the save/restore engine needs. */
  readonly handle: VgicHandle;
  /**
   * Free the VM (kvm_vm_free): its device fds are closed, later use of them is EBADF, and
   * nothing process-wide keeps the VM reachable any more. Idempotent.
   */
  dispose(): void;
}

/** hw/arm/virt.c: NUM_IRQS 256, "num-irq" = NUM_IRQS + 32. */
export const QEMU_VIRT_NR_IRQS = 256 + 32;
const QEMU_GIC_DIST = 0x08000000;
const QEMU_GIC_CPU = 0x08010000;
const QEMU_GIC_REDIST = 0x080a0000;
/** arch/aarch64/layout.rs: MAPPED_IO_START (1 GiB); the GIC sits just below it. */
const FC_MAPPED_IO_START = 0x40000000;

/** One device ioctl of the creation order. */
type CreateStep =
  | { readonly op: 'nrIrqs' }
  | { readonly op: 'init' }
  | { readonly op: 'addr'; readonly type: number; readonly base: (n: number) => number }
  | { readonly op: 'redistRegion'; readonly base: (n: number) => number };

interface Recipe {
  readonly deviceType: number;
  readonly defaultNrIrqs: number;
  readonly steps: readonly CreateStep[];
  readonly layout: (nrVcpus: number) => GicLayout;
}

const fcV3Dist = FC_MAPPED_IO_START - KVM_VGIC_V3_DIST_SIZE;
const fcV3Redist = (n: number): number => fcV3Dist - n * KVM_VGIC_V3_REDIST_SIZE;
const fcV2Dist = FC_MAPPED_IO_START - KVM_VGIC_V2_DIST_SIZE;
const fcV2Cpu = fcV2Dist - KVM_VGIC_V2_CPU_SIZE;

const RECIPES: Readonly<Record<`${VmmStyle}-${GicModel}`, Recipe>> = {
  'qemu-v3': {
    deviceType: KVM_DEV_TYPE_ARM_VGIC_V3,
    defaultNrIrqs: QEMU_VIRT_NR_IRQS,
    steps: [
      { op: 'nrIrqs' },
      { op: 'init' },
      { op: 'addr', type: KVM_VGIC_V3_ADDR_TYPE_DIST, base: () => QEMU_GIC_DIST },
      { op: 'redistRegion', base: () => QEMU_GIC_REDIST },
    ],
    layout: () => ({ dist: QEMU_GIC_DIST, redist: QEMU_GIC_REDIST, cpu: -1 }),
  },
  'qemu-v2': {
    deviceType: KVM_DEV_TYPE_ARM_VGIC_V2,
    defaultNrIrqs: QEMU_VIRT_NR_IRQS,
    steps: [
      { op: 'nrIrqs' },
      { op: 'init' },
      { op: 'addr', type: KVM_VGIC_V2_ADDR_TYPE_DIST, base: () => QEMU_GIC_DIST },
      { op: 'addr', type: KVM_VGIC_V2_ADDR_TYPE_CPU, base: () => QEMU_GIC_CPU },
    ],
    layout: () => ({ dist: QEMU_GIC_DIST, redist: -1, cpu: QEMU_GIC_CPU }),
  },
  'firecracker-v3': {
    deviceType: KVM_DEV_TYPE_ARM_VGIC_V3,
    defaultNrIrqs: FC_IRQ_MAX,
    steps: [
      { op: 'addr', type: KVM_VGIC_V3_ADDR_TYPE_DIST, base: () => fcV3Dist },
      { op: 'addr', type: KVM_VGIC_V3_ADDR_TYPE_REDIST, base: fcV3Redist },
      { op: 'nrIrqs' },
      { op: 'init' },
    ],
    layout: (n) => ({ dist: fcV3Dist, redist: fcV3Redist(n), cpu: -1 }),
  },
  'firecracker-v2': {
    deviceType: KVM_DEV_TYPE_ARM_VGIC_V2,
    defaultNrIrqs: FC_IRQ_MAX,
    steps: [
      { op: 'addr', type: KVM_VGIC_V2_ADDR_TYPE_DIST, base: () => fcV2Dist },
      { op: 'addr', type: KVM_VGIC_V2_ADDR_TYPE_CPU, base: () => fcV2Cpu },
      { op: 'nrIrqs' },
      { op: 'init' },
    ],
    layout: () => ({ dist: fcV2Dist, redist: -1, cpu: fcV2Cpu }),
  },
};

/**
 * Build a VM the way `spec.vmm` does: vCPUs 0..n-1 (MPIDR from the id, as KVM resets it), then
 * the vGIC. Throws a KvmError if an ioctl fails, like the VMM failing to start.
 */
export function createVmmMachine(spec: MachineSpec): VmmMachine {
  const recipe = RECIPES[`${spec.vmm}-${spec.model}`];
  const profile = resolveProfile(spec.profile).name;
  const nrIrqs = spec.nrIrqs ?? recipe.defaultNrIrqs;
  const vm = vmCreateBarebones({ ...spec.vmOptions, profile });
  try {
    return build(spec, recipe, profile, nrIrqs, vm);
  } catch (e) {
    kvmVmFree(vm); // a VMM that fails to start releases what it created
    throw e;
  }
}

function build(spec: MachineSpec, recipe: Recipe, profile: string, nrIrqs: number, vm: KvmVm): VmmMachine {
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < spec.nrVcpus; i++) vcpus.push(vmVcpuAdd(vm, i, spec.guestCode ?? null));
  const gicFd = kvmCreateDevice(vm, recipe.deviceType);
  for (const s of recipe.steps) {
    switch (s.op) {
      case 'nrIrqs':
        kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(nrIrqs));
        break;
      case 'init':
        kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
        break;
      case 'addr':
        kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, s.type, u64(s.base(spec.nrVcpus)));
        break;
      case 'redistRegion':
        kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(spec.nrVcpus, s.base(spec.nrVcpus), 0, 0)));
        break;
    }
  }
  const handle: VgicHandle = {
    model: spec.model,
    io: kvmDeviceIo(gicFd),
    vcpus: vcpus.map((v) => ({ id: v.id, mpidr: v.mpidr })),
    profile,
  };
  return { spec, vm, vcpus, gicFd, nrIrqs, layout: recipe.layout(spec.nrVcpus), handle, dispose: () => kvmVmFree(vm) };
}

// What a VMM holds to save or restore a vGIC: the device fd's attribute ioctls, its vCPUs'
// identities and the GIC model. The engine goes through KVM_{GET,SET}_DEVICE_ATTR only
// (lib/host's __kvmDeviceAttrGet/Set), never into the emulated kernel's state.

import {
  KVM_DEV_ARM_VGIC_CPUID_SHIFT,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
} from '../../host/index.ts';
import type { UserBuf } from '../../vgic/user-buf.ts';
import type { GicModel } from '../schema.ts';
import type { Target } from './types.ts';

/** KVM_GET/SET_DEVICE_ATTR on one device fd: 0 or -errno, like the raw ioctls. */
export interface DeviceAttrIo {
  get(group: number, attr: bigint, buf: UserBuf | null): number;
  set(group: number, attr: bigint, buf: UserBuf | null): number;
}

/** A vCPU as the VMM knows it: its id and its MPIDR affinity (Aff3:Aff2:Aff1:Aff0 packed). */
export interface VcpuRef {
  readonly id: number;
  readonly mpidr: number;
}

/** The vGIC of one VM, as a VMM sees it. */
export interface VgicHandle {
  readonly model: GicModel;
  readonly io: DeviceAttrIo;
  /** In creation order (QEMU's cpu index, Firecracker's mpidrs list). */
  readonly vcpus: readonly VcpuRef[];
  /** Host-kernel profile the VM runs on: snapshot metadata only. */
  readonly profile: string;
}

/** The device-attribute ioctls of `fd`, through lib/host. */
export function kvmDeviceIo(fd: number): DeviceAttrIo {
  return {
    get: (group, attr, buf) => __kvmDeviceAttrGet(fd, group, attr, buf),
    set: (group, attr, buf) => __kvmDeviceAttrSet(fd, group, attr, buf),
  };
}

/**
 * The attribute upper word for an access, as each VMM builds it:
 * - GICv3: DIST_REGS carry 0 (KVM uses vCPU 0); the other groups the vCPU's MPIDR in bits 63:32
 *   (QEMU: KVM_VGIC_ATTR(reg, gicr_typer); Firecracker: construct_kvm_mpidrs()).
 * - GICv2: the cpu id in bits 39:32 (QEMU's KVM_VGIC_ATTR(offset, cpu)); Firecracker's CPU-interface
 *   attr shifts its already-shifted MPIDR once more and masks bits 39:32, which leaves 0.
 */
export function attrUpper(model: GicModel, group: number, target: Target, vcpu: VcpuRef): bigint {
  if (target === 'fc-v2-cpu') {
    const kvmMpidr = BigInt(vcpu.mpidr) << 32n; // construct_kvm_mpidrs()
    return BigInt.asUintN(64, kvmMpidr << KVM_DEV_ARM_VGIC_CPUID_SHIFT) & (0xffn << KVM_DEV_ARM_VGIC_CPUID_SHIFT);
  }
  if (model === 'v3') {
    if (group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS || target === 'dist') return 0n;
    return BigInt(vcpu.mpidr >>> 0) << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT;
  }
  if (target === 'dist') return 0n;
  return BigInt(vcpu.id & 0xff) << KVM_DEV_ARM_VGIC_CPUID_SHIFT;
}

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

/** A device-attribute call's result must be 0 or -errno; anything else is the caller's bug. */
function checkedRet(r: unknown, what: string): number {
  if (typeof r !== 'number' || !Number.isInteger(r) || r > 0) {
    throw new TypeError(`the device io's ${what} returned ${typeof r === 'number' ? r : typeof r}, not 0 or -errno`);
  }
  return r;
}

const MAX_HANDLE_VCPUS = 512;

/**
 * A checked copy of an untrusted VgicHandle, read once: the model, the vCPU list (ids and
 * MPIDRs as integers), the profile name, and an io whose results are checked to be 0 or -errno.
 * Throws (a TypeError, or whatever a hostile object's traps throw) if the handle is unusable;
 * the engine's entry points turn that into a refusal.
 */
export function readHandle(vm: VgicHandle): VgicHandle {
  const model: unknown = vm.model;
  if (model !== 'v2' && model !== 'v3') throw new TypeError('the VM handle has no GIC model (v2 or v3)');
  const io: unknown = vm.io;
  if (io === null || typeof io !== 'object') throw new TypeError('the VM handle has no device io');
  const get: unknown = (io as DeviceAttrIo).get;
  const set: unknown = (io as DeviceAttrIo).set;
  if (typeof get !== 'function' || typeof set !== 'function') throw new TypeError('the device io has no get/set');
  const list: unknown = vm.vcpus;
  if (!Array.isArray(list)) throw new TypeError('the VM handle has no vCPU list');
  const n: unknown = list.length;
  if (typeof n !== 'number' || !Number.isInteger(n) || n > MAX_HANDLE_VCPUS) throw new TypeError('the VM handle has a bad vCPU list');
  const vcpus: VcpuRef[] = [];
  for (let i = 0; i < n; i++) {
    const v: unknown = list[i];
    const id: unknown = (v as VcpuRef | null)?.id;
    const mpidr: unknown = (v as VcpuRef | null)?.mpidr;
    if (!Number.isInteger(id) || !Number.isInteger(mpidr)) throw new TypeError(`vCPU ${i} of the VM handle has no integer id and MPIDR`);
    vcpus.push({ id: id as number, mpidr: (mpidr as number) >>> 0 });
  }
  const profile: unknown = vm.profile;
  if (typeof profile !== 'string') throw new TypeError('the VM handle has no profile name');
  const g = get as DeviceAttrIo['get'];
  const s = set as DeviceAttrIo['set'];
  return {
    model,
    vcpus,
    profile,
    io: {
      get: (group, attr, buf) => checkedRet(g.call(io, group, attr, buf), 'get'),
      set: (group, attr, buf) => checkedRet(s.call(io, group, attr, buf), 'set'),
    },
  };
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

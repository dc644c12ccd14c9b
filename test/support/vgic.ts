// Test-only helpers shared by the lib/**/*.test.ts unit tests (they live with the tests, not in
// lib/vgic, because they build VMs through lib/host): build vGIC VMs the way the
// selftests do (lib/arm64/vgic.c: __vgic_v3_setup; vgic_init.c: v2 setup), run a guest to
// GUEST_DONE collecting its GUEST_SYNC values, and read/write registers through device attrs.
// Nothing here computes an expected value: tests state those literally, with a citation.

import type { GuestProgram } from '../../lib/kvm/guest-abi.ts';
import type { Guest } from '../../lib/guest/guest.ts';
import {
  GICD_BASE_GPA,
  GICR_BASE_GPA,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  type KvmVcpu,
  type KvmVm,
  REDIST_REGION_ATTR_ADDR,
  UCALL_DONE,
  UCALL_SYNC,
  type VmOptions,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  getUcall,
  kvmCreateDevice,
  kvmDeviceAttrSet,
  u32,
  u64,
  vcpuRun,
  vmCreateBarebones,
  vmVcpuAdd,
} from '../../lib/host/index.ts';

export type GuestFn = (g: Guest) => GuestProgram;

/** GICv2 frame addresses used by the vgic_init / vgic_group_v2 selftests. */
export const V2_DIST_BASE = 0x8000000;
export const V2_CPU_BASE = 0x8010000;
/** GICv3 frames: the selftests' GICD_BASE_GPA / GICR_BASE_GPA (each redistributor is 128 KiB). */
export const V3_DIST_BASE = GICD_BASE_GPA;
export const V3_RDIST_BASE = GICR_BASE_GPA;
export const RDIST_STRIDE = 0x20000;
export const SGI_FRAME = 0x10000;

/** Tests pin the newest host-kernel profile unless they say otherwise (iidr.test.ts covers every profile). */
export const TEST_PROFILE = 'series-p3';

export interface GicVm {
  vm: KvmVm;
  vcpus: KvmVcpu[];
  fd: number;
  itsFd: number;
}

export interface V3Options {
  nrVcpus?: number;
  nrIrqs?: number;
  guest?: GuestFn | null;
  vm?: VmOptions;
  its?: boolean;
  init?: boolean;
}

/** vm_create + vCPUs + __vgic_v3_setup (one counted region for every vCPU) + optional ITS + INIT. */
export function v3Vm(o: V3Options = {}): GicVm {
  const nrVcpus = o.nrVcpus ?? 1;
  const vm = vmCreateBarebones({ profile: TEST_PROFILE, ...o.vm });
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < nrVcpus; i++) vcpus.push(vmVcpuAdd(vm, i, o.guest ?? null));
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(o.nrIrqs ?? 64));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, u64(V3_DIST_BASE));
  kvmDeviceAttrSet(
    fd,
    KVM_DEV_ARM_VGIC_GRP_ADDR,
    KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
    u64(REDIST_REGION_ATTR_ADDR(nrVcpus, V3_RDIST_BASE, 0, 0)),
  );
  const itsFd = o.its ? kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_ITS) : -1;
  if (o.init ?? true) kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return { vm, vcpus, fd, itsFd };
}

export interface V2Options {
  nrVcpus?: number;
  nrIrqs?: number;
  guest?: GuestFn | null;
  vm?: VmOptions;
  init?: boolean;
}

/** vm_create + vCPUs + a GICv2 with both frames placed (vgic_group_v2.c: create_v2_gic) + INIT. */
export function v2Vm(o: V2Options = {}): GicVm {
  const nrVcpus = o.nrVcpus ?? 1;
  const vm = vmCreateBarebones({ profile: TEST_PROFILE, ...o.vm });
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < nrVcpus; i++) vcpus.push(vmVcpuAdd(vm, i, o.guest ?? null));
  const fd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V2);
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, u64(V2_DIST_BASE));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU, u64(V2_CPU_BASE));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(o.nrIrqs ?? 64));
  if (o.init ?? true) kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return { vm, vcpus, fd, itsFd: -1 };
}

/** Run until GUEST_DONE; returns the GUEST_SYNC values in order; any other exit throws. */
export function runGuest(vcpu: KvmVcpu): Array<number | bigint> {
  const out: Array<number | bigint> = [];
  for (let i = 0; i < 100_000; i++) {
    vcpuRun(vcpu);
    const uc = getUcall(vcpu);
    if (uc.cmd === UCALL_DONE) return out;
    if (uc.cmd === UCALL_SYNC) {
      out.push(uc.args[1] as number | bigint);
      continue;
    }
    throw new Error(`guest exit ${uc.cmd}: ${uc.buffer} (${uc.file ?? '?'}:${uc.line ?? '?'})`);
  }
  throw new Error('guest never reached GUEST_DONE');
}

/** A guest that performs 32-bit reads of `addrs` and reports each value with GUEST_SYNC. */
export function readerGuest(addrs: readonly number[]): GuestFn {
  return function* (g: Guest): GuestProgram {
    for (const a of addrs) yield* g.sync(yield* g.readl(a));
    yield* g.done();
  };
}

/** v3 attribute for a redistributor register of the vCPU with packed affinity `mpidr`. */
export function rdAttr(mpidr: number, offset: number): bigint {
  return (BigInt(mpidr >>> 0) << 32n) | BigInt(offset);
}

/** v2 attribute naming a vCPU by id in bits [39:32]. */
export function v2Attr(vcpuId: number, offset: number): bigint {
  return (BigInt(vcpuId) << 32n) | BigInt(offset);
}

export interface Got {
  ret: number;
  value: number;
}

function get32(fd: number, group: number, attr: number | bigint): Got {
  const b = u32(0xdeadbeef);
  const ret = __kvmDeviceAttrGet(fd, group, attr, b);
  return { ret, value: b.value };
}

export const distGet = (fd: number, offset: number): Got => get32(fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset);
export const distSet = (fd: number, offset: number, v: number): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, offset, u32(v));
export const rdGet = (fd: number, mpidr: number, offset: number): Got =>
  get32(fd, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, rdAttr(mpidr, offset));
export const rdSet = (fd: number, mpidr: number, offset: number, v: number): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_REDIST_REGS, rdAttr(mpidr, offset), u32(v));
export const v2DistGet = (fd: number, vcpuId: number, offset: number): Got =>
  get32(fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, v2Attr(vcpuId, offset));
export const v2DistSet = (fd: number, vcpuId: number, offset: number, v: number): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, v2Attr(vcpuId, offset), u32(v));
export const cpuGet = (fd: number, vcpuId: number, offset: number): Got =>
  get32(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(vcpuId, offset));
export const cpuSet = (fd: number, vcpuId: number, offset: number, v: number): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_REGS, v2Attr(vcpuId, offset), u32(v));

/** CPU_SYSREGS get: attr = MPIDR << 32 | encoding; u64 value. */
export function sysregGet(fd: number, mpidr: number, enc: number): { ret: number; value: bigint } {
  const b = u64(0xdeadbeefn);
  const ret = __kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(mpidr, enc), b);
  return { ret, value: b.value };
}
export const sysregSet = (fd: number, mpidr: number, enc: number, v: number | bigint): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, rdAttr(mpidr, enc), u64(v));

/** Hex for assertion messages. */
export const hex = (v: number | bigint): string => `0x${(typeof v === 'bigint' ? v : BigInt(v >>> 0)).toString(16)}`;

// --- attribute helpers for the errno tests (kvm-device.test.ts, vm.test.ts, iidr.test.ts) ------

/** KVM_DEV_ARM_VGIC_GRP_ADDR set with a u64 buffer; 0 or -errno. */
export const addrSet = (fd: number, type: number, v: number | bigint): number =>
  __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, u64(v));

/** KVM_DEV_ARM_VGIC_GRP_ADDR get; `index` preloads the buffer (REDIST_REGION reads take it from there). */
export function addrGet(fd: number, type: number, index: number | bigint = 0): { ret: number; value: bigint } {
  const b = u64(index);
  const ret = __kvmDeviceAttrGet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, b);
  return { ret, value: b.value };
}

export const nrIrqsSet = (fd: number, v: number): number => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(v));
export const nrIrqsGet = (fd: number): Got => get32(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0);
export const ctrlSet = (fd: number, attr: number | bigint): number => __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, attr, null);

/** A VM with `nrVcpus` vCPUs (ids 0..n-1) and a bare vGIC of the given type: no addresses, no INIT. */
export function bareGic(type: number, nrVcpus: number, vm: VmOptions = {}): GicVm {
  const v = vmCreateBarebones({ profile: TEST_PROFILE, ...vm });
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < nrVcpus; i++) vcpus.push(vmVcpuAdd(v, i));
  return { vm: v, vcpus, fd: kvmCreateDevice(v, type), itsFd: -1 };
}

/** A guest that reports GUEST_DONE immediately (for KVM_RUN first-run checks). */
export const doneGuest: GuestFn = function* (g: Guest): GuestProgram {
  yield* g.done();
};

/** The v3 REDIST_REGION attribute value (REDIST_REGION_ATTR_ADDR) as a bigint. */
export const rdRegion = (count: number, base: number | bigint, index = 0, flags = 0): bigint =>
  REDIST_REGION_ATTR_ADDR(count, base, flags, index);


/** Run until the next GUEST_SYNC and return its value (the guest resumes there on the next run). */
export function runUntilSync(vcpu: KvmVcpu): number | bigint {
  vcpuRun(vcpu);
  const uc = getUcall(vcpu);
  if (uc.cmd !== UCALL_SYNC) throw new Error(`expected GUEST_SYNC, got ucall ${uc.cmd}: ${uc.buffer}`);
  return uc.args[1] as number | bigint;
}

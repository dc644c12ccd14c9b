// lib/arm64/vgic.c for ports: vGICv3 setup, IRQ injection helpers and register pokes.

import type { KvmVcpu } from '../kvm/vcpu.ts';
import type { KvmVm } from '../kvm/vm.ts';
import { GICD_BASE_GPA, GICD_ISACTIVER, GICD_ISPENDR, GICR_BASE_GPA, SZ_64K } from '../uapi/gic.ts';
import {
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_NR_SGIS,
} from '../uapi/kvm.ts';
import { cInt, cU32, cU64, vcpuArg, vmArg } from './args.ts';
import { u32, u64 } from './buffers.ts';
import {
  __kvmCreateDevice,
  __kvmDeviceAttrGet,
  __kvmDeviceAttrSet,
  _kvmIrqLine,
  kvmDeviceAttrGet,
  kvmDeviceAttrSet,
  kvmIrqLine,
  setDefaultVgicSetup,
} from './kvm-util.ts';
import { testAssert } from './test-util.ts';

/** REDIST_REGION_ATTR_ADDR(count, base, flags, index) (include/arm64/vgic.h): base keeps bits [63:16]. */
export function REDIST_REGION_ATTR_ADDR(count: number | bigint, base: number | bigint, flags: number | bigint, index: number | bigint): bigint {
  // The macro casts each argument to uint64_t: C's conversion (1.5 -> 1), never a JS RangeError.
  const fn = 'REDIST_REGION_ATTR_ADDR';
  const c = cU64(count, fn, 'count');
  const b = cU64(base, fn, 'base');
  const f = cU64(flags, fn, 'flags');
  const i = cU64(index, fn, 'index');
  return BigInt.asUintN(64, (c << 52n) | ((b >> 16n) << 16n) | (f << 12n) | i);
}

/** __vgic_v3_setup(): create, NR_IRQS, DIST and one redistributor region; fd or -errno; no INIT. */
export function __vgicV3Setup(vm: KvmVm, nrVcpus: number, nrIrqs: number): number {
  nrVcpus = cU32(nrVcpus, '__vgicV3Setup', 'nrVcpus');
  nrIrqs = cU32(nrIrqs, '__vgicV3Setup', 'nrIrqs');
  const fd = __kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
  if (fd < 0) return fd;
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, u32(nrIrqs));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, u64(GICD_BASE_GPA));
  kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION, u64(REDIST_REGION_ATTR_ADDR(nrVcpus, GICR_BASE_GPA, 0, 0)));
  return fd;
}

/** __vgic_v3_init(): CTRL_INIT, 0 or -errno. */
export function __vgicV3Init(fd: number): number {
  return __kvmDeviceAttrSet(fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
}

/** vgic_v3_setup(): asserts nrVcpus matches the VM, then setup and INIT. */
export function vgicV3Setup(vm: KvmVm, nrVcpus: number, nrIrqs: number): number {
  vmArg(vm, 'vgicV3Setup');
  nrVcpus = cU32(nrVcpus, 'vgicV3Setup', 'nrVcpus');
  nrIrqs = cU32(nrIrqs, 'vgicV3Setup', 'nrIrqs');
  testAssert(nrVcpus === vm.vcpus.length, 'Number of vCPUs requested (%u) doesn\'t match with the ones created for the VM (%u)', nrVcpus, vm.vcpus.length);
  const fd = __vgicV3Setup(vm, nrVcpus, nrIrqs);
  testAssert(fd >= 0, 'Failed to create vgic-v3, error: %d', fd);
  const r = __vgicV3Init(fd);
  testAssert(r === 0, 'Failed to initialize vgic-v3, error: %d', r);
  return fd;
}

setDefaultVgicSetup((vm, n) => __vgicV3Setup(vm, n, 64));

function irqLineWord(intid: number): number {
  // Only SPIs and PPIs (of vCPU 0) can be driven this way; SGIs cannot.
  const type = intid < VGIC_NR_PRIVATE_IRQS ? KVM_ARM_IRQ_TYPE_PPI : KVM_ARM_IRQ_TYPE_SPI;
  return ((type << KVM_ARM_IRQ_TYPE_SHIFT) | (intid & 0xffff)) >>> 0;
}

/** _kvm_arm_irq_line(vm, u32 intid, level): 0 or -errno. */
export function _kvmArmIrqLine(vm: KvmVm, intid: number, level: number | boolean): number {
  intid = cU32(intid, '_kvmArmIrqLine', 'intid');
  testAssert(intid >= VGIC_NR_SGIS || intid < 0 || intid > 0xffff, 'SGIs cannot be injected with KVM_IRQ_LINE');
  return _kvmIrqLine(vm, irqLineWord(intid), level);
}

/** kvm_arm_irq_line(): asserts. */
export function kvmArmIrqLine(vm: KvmVm, intid: number, level: number | boolean): void {
  intid = cU32(intid, 'kvmArmIrqLine', 'intid');
  testAssert(intid >= VGIC_NR_SGIS, 'SGIs cannot be injected with KVM_IRQ_LINE');
  kvmIrqLine(vm, irqLineWord(intid), level);
}

function levelInfoAttr(intid: number): bigint {
  // vCPU 0's MPIDR in the upper word (0), the 32-aligned INTID below.
  return BigInt((intid - (intid % 32)) >>> 0);
}

/** _kvm_irq_set_level_info(): read-modify-write of one LEVEL_INFO word; 0 or -errno. */
export function _kvmIrqSetLevelInfo(gicFd: number, intid: number, level: number | boolean): number {
  intid = cU32(intid, '_kvmIrqSetLevelInfo', 'intid');
  const high = cInt(level, '_kvmIrqSetLevelInfo', 'level') !== 0;
  const attr = levelInfoAttr(intid);
  const v = u32();
  let r = __kvmDeviceAttrGet(gicFd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, attr, v);
  if (r) return r;
  const bit = 1 << (intid % 32);
  v.value = high ? (v.value | bit) >>> 0 : (v.value & ~bit) >>> 0;
  r = __kvmDeviceAttrSet(gicFd, KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO, attr, v);
  return r;
}

export function kvmIrqSetLevelInfo(gicFd: number, intid: number, level: number | boolean): void {
  intid = cU32(intid, 'kvmIrqSetLevelInfo', 'intid');
  const r = _kvmIrqSetLevelInfo(gicFd, intid, level);
  testAssert(r === 0, 'KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO failed, rc: %d', r);
}

/** vgic_poke_irq(): set one bit of a per-IRQ register via DIST_REGS or the vCPU's REDIST_REGS. */
function vgicPokeIrq(fn: string, gicFd: number, intid: number, vcpu: KvmVcpu, regOff: number): void {
  intid = cU32(intid, fn, 'intid');
  vcpuArg(vcpu, fn);
  const isPrivate = intid < VGIC_NR_PRIVATE_IRQS;
  const group = isPrivate ? KVM_DEV_ARM_VGIC_GRP_REDIST_REGS : KVM_DEV_ARM_VGIC_GRP_DIST_REGS;
  const off = regOff + 4 * Math.floor(intid / 32);
  // Private IRQs live in the SGI frame, 64K into the redistributor; the attr names the vCPU by MPIDR.
  const attr = isPrivate ? (BigInt(vcpu.mpidr) << 32n) | BigInt(off + SZ_64K) : BigInt(off);
  const v = u32();
  kvmDeviceAttrGet(gicFd, group, attr, v);
  v.value = (v.value | (1 << (intid % 32))) >>> 0;
  kvmDeviceAttrSet(gicFd, group, attr, v);
}

/** kvm_irq_write_ispendr() */
export function kvmIrqWriteIspendr(gicFd: number, intid: number, vcpu: KvmVcpu): void {
  vgicPokeIrq('kvmIrqWriteIspendr', gicFd, intid, vcpu, GICD_ISPENDR);
}

/** kvm_irq_write_isactiver() */
export function kvmIrqWriteIsactiver(gicFd: number, intid: number, vcpu: KvmVcpu): void {
  vgicPokeIrq('kvmIrqWriteIsactiver', gicFd, intid, vcpu, GICD_ISACTIVER);
}

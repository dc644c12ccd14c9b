// The vGIC as a KVM device: set/get/has attribute for GICv2, GICv3 and the ITS
// (vgic-kvm-device.c: vgic_v{2,3}_{set,get,has}_attr, vgic_set_common_attr,
// vgic_v{2,3}_attr_regs_access, vgic_v3_parse_attr); the ITS device is in its/device.ts.

import { EBUSY, EINVAL, ENODEV, ENXIO } from '../uapi/errno.ts';
import { GICD_IIDR, GICD_TYPER2 } from '../uapi/gic.ts';
import {
  KVM_DEV_ARM_VGIC_CPUID_MASK,
  KVM_DEV_ARM_VGIC_CPUID_SHIFT,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO,
  KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
  KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK,
  KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT,
  KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK,
  KVM_DEV_ARM_VGIC_OFFSET_MASK,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
  KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK,
  KVM_DEV_ARM_VGIC_V3_MPIDR_MASK,
  KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_DEV_TYPE_ARM_VGIC_V2,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  VGIC_LEVEL_INFO_LINE_LEVEL,
  VGIC_NR_PRIVATE_IRQS,
  VGIC_NR_SGIS,
} from '../uapi/kvm.ts';
import { vgicAddr } from './addr.ts';
import { cpuSysregGet, cpuSysregSet, hasCpuSysreg } from './cpuif-regs.ts';
import { readLineLevelInfo, vgicCreate, vgicInit, writeLineLevelInfo } from './init.ts';
import { vgicItsCreate, vgicItsOps } from './its/device.ts';
import { vgicV3SavePendingTables } from './lpi.ts';
import { type AccessCtx, type RegisterTable, hasRegister, uaccessRead, uaccessWrite } from './mmio.ts';
import { V2_CPU_TABLE, V2_DIST_TABLE } from './mmio-v2.ts';
import { V3_DIST_TABLE, V3_RD_TABLE } from './mmio-v3.ts';
import type { VgicCpu, VgicDist } from './state.ts';
import { type UserBuf, getUser, putUser } from './user-buf.ts';
import { createVgicV5Device } from './v5/device.ts';

/** struct kvm_device_ops, the part the harness needs. Every call returns 0 or -errno. */
export interface KvmDeviceOps {
  readonly type: number;
  readonly name: string;
  setAttr(group: number, attr: bigint, buf: UserBuf | null): number;
  getAttr(group: number, attr: bigint, buf: UserBuf | null): number;
  hasAttr(group: number, attr: bigint): number;
}

const offsetOf = (attr: bigint): number => Number(attr & KVM_DEV_ARM_VGIC_OFFSET_MASK);

// --- common groups ------------------------------------------------------------------------------

/** vgic_set_common_attr() */
function setCommonAttr(dist: VgicDist, group: number, attr: bigint, buf: UserBuf | null): number {
  switch (group) {
    case KVM_DEV_ARM_VGIC_GRP_ADDR: {
      const u = getUser(buf, 64);
      if (u.ret) return u.ret;
      const r = vgicAddr(dist, Number(attr), true, u.value).ret;
      return r === -ENODEV ? -ENXIO : r;
    }
    case KVM_DEV_ARM_VGIC_GRP_NR_IRQS: {
      const u = getUser(buf, 32);
      if (u.ret) return u.ret;
      const val = Number(u.value);
      // At least 32 SPIs, at most VGIC_MAX_RESERVED (so 992 is the largest), a multiple of 32.
      if (val < VGIC_NR_PRIVATE_IRQS + 32 || val > 1023 || val & 31) return -EINVAL;
      if (dist.ready || dist.nrSpis) return -EBUSY;
      dist.nrSpis = val - VGIC_NR_PRIVATE_IRQS;
      return 0;
    }
    case KVM_DEV_ARM_VGIC_GRP_CTRL:
      switch (Number(attr)) {
        case KVM_DEV_ARM_VGIC_CTRL_INIT:
          return vgicInit(dist);
        case KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES:
          if (dist.model !== 'v3') return -ENXIO;
          if (dist.vm.vcpusBusy()) return -EBUSY;
          if (!dist.initialized) return -ENXIO;
          return vgicV3SavePendingTables(dist);
      }
      return -ENXIO;
  }
  return -ENXIO;
}

/** vgic_get_common_attr() */
function getCommonAttr(dist: VgicDist, group: number, attr: bigint, buf: UserBuf | null): number {
  switch (group) {
    case KVM_DEV_ARM_VGIC_GRP_ADDR: {
      let index = 0n;
      if (Number(attr) === KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION) {
        const u = getUser(buf, 64); // reading a region address takes its index from the buffer
        if (u.ret) return u.ret;
        index = u.value;
      }
      const r = vgicAddr(dist, Number(attr), false, index);
      if (r.ret) return r.ret === -ENODEV ? -ENXIO : r.ret;
      return putUser(buf, 64, r.value);
    }
    case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
      return putUser(buf, 32, BigInt(dist.nrSpis + VGIC_NR_PRIVATE_IRQS));
  }
  return -ENXIO;
}

// --- GICv3 ---------------------------------------------------------------------------------------

/** vgic_v3_parse_attr(): DIST_REGS always use vCPU 0; other groups name a vCPU by MPIDR. */
function v3ParseAttr(dist: VgicDist, group: number, attr: bigint): VgicCpu | undefined {
  if (group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS) return dist.vcpus[0];
  const mpidr = Number((attr & KVM_DEV_ARM_VGIC_V3_MPIDR_MASK) >> KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT);
  return dist.vcpuByMpidr(mpidr);
}

/** reg_allowed_pre_init(): GICD_IIDR and GICD_TYPER2 may be accessed before vgic_init(). */
function regAllowedPreInit(dist: VgicDist, group: number, attr: bigint): boolean {
  if (!dist.profile.v3PreInitRegs || group !== KVM_DEV_ARM_VGIC_GRP_DIST_REGS) return false;
  const off = offsetOf(attr);
  return off === GICD_IIDR || off === GICD_TYPER2;
}

/** vgic_v3_attr_regs_access(): parse (EINVAL), fetch (EFAULT), lock (EBUSY), initialised (EBUSY). */
function v3RegsAccess(dist: VgicDist, group: number, attr: bigint, buf: UserBuf | null, write: boolean): number {
  const vcpu = v3ParseAttr(dist, group, attr);
  if (!vcpu) return -EINVAL;
  let val = 0n;
  if (write && group !== KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS) {
    const u = getUser(buf, 32);
    if (u.ret) return u.ret;
    val = u.value;
  }
  if (dist.vm.vcpusBusy()) return -EBUSY;
  if (!dist.initialized && !regAllowedPreInit(dist, group, attr)) return -EBUSY;
  const ctx: AccessCtx = { dist, vcpu, uaccess: true };
  const off = offsetOf(attr);
  switch (group) {
    case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
      return regsRw(V3_DIST_TABLE, ctx, off, buf, write, val);
    case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS:
      return regsRw(V3_RD_TABLE, ctx, off, buf, write, val);
    case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS: {
      const enc = Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK);
      if (write) {
        const u = getUser(buf, 64);
        if (u.ret) return u.ret;
        return cpuSysregSet(dist, vcpu, enc, u.value);
      }
      const r = cpuSysregGet(dist, vcpu, enc);
      return r.ret ? r.ret : putUser(buf, 64, r.value);
    }
    case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO: {
      const info = Number((attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK) >> KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT);
      if (info !== VGIC_LEVEL_INFO_LINE_LEVEL) return -EINVAL;
      const intid = Number(attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK);
      if (intid % 32) return -EINVAL; // vgic_v3_line_level_info_uaccess
      if (write) {
        writeLineLevelInfo(dist, vcpu, intid, Number(val));
        return 0;
      }
      return putUser(buf, 32, BigInt(readLineLevelInfo(dist, vcpu, intid)));
    }
  }
  return -EINVAL;
}

/** vgic_v{2,3}_{dist,redist,cpuif}_uaccess() plus the final put_user(). */
function regsRw(table: RegisterTable, ctx: AccessCtx, off: number, buf: UserBuf | null, write: boolean, val: bigint): number {
  if (write) return uaccessWrite(table, ctx, off, Number(val));
  return putUser(buf, 32, BigInt(uaccessRead(table, ctx, off)));
}

/** KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ (NV): a PPI, settable only before init. */
function setMaintIrq(dist: VgicDist, buf: UserBuf | null): number {
  const u = getUser(buf, 32);
  if (u.ret) return u.ret;
  if (dist.initialized) return -EBUSY;
  const v = Number(u.value);
  if (v < VGIC_NR_SGIS || v >= VGIC_NR_PRIVATE_IRQS) return -EINVAL;
  dist.maintIrq = v;
  return 0;
}

export function vgicV3Ops(dist: VgicDist): KvmDeviceOps {
  return {
    type: KVM_DEV_TYPE_ARM_VGIC_V3,
    name: 'kvm-arm-vgic-v3',
    setAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
        case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO:
          return v3RegsAccess(dist, group, attr, buf, true);
        case KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ:
          // Older kernels (6.1, 6.12) have no such group: vgic_set_common_attr() says ENXIO.
          if (dist.profile.maintIrqAttr) return setMaintIrq(dist, buf);
      }
      return setCommonAttr(dist, group, attr, buf);
    },
    getAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
        case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO:
          return v3RegsAccess(dist, group, attr, buf, false);
        case KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ:
          if (dist.profile.maintIrqAttr) return putUser(buf, 32, BigInt(dist.maintIrq));
      }
      return getCommonAttr(dist, group, attr, buf);
    },
    hasAttr(group, attr) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          switch (Number(attr)) {
            case KVM_VGIC_V3_ADDR_TYPE_DIST:
            case KVM_VGIC_V3_ADDR_TYPE_REDIST:
            case KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION:
              return 0;
          }
          return -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_REDIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS: {
          // vgic_v3_has_attr_regs(): resolves the vCPU first, then checks the register
          const vcpu = v3ParseAttr(dist, group, attr);
          if (!vcpu) return -EINVAL;
          if (group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS) {
            return hasCpuSysreg(Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK));
          }
          const table = group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS ? V3_DIST_TABLE : V3_RD_TABLE;
          return hasRegister(table, dist, offsetOf(attr)) ? 0 : -ENXIO;
        }
        case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
          return 0;
        case KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ:
          return dist.profile.maintIrqAttr ? 0 : -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO: {
          const info = Number((attr & KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK) >> KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT);
          return info === VGIC_LEVEL_INFO_LINE_LEVEL ? 0 : -ENXIO;
        }
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          switch (Number(attr)) {
            case KVM_DEV_ARM_VGIC_CTRL_INIT:
            case KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES:
              return 0;
          }
          return -ENXIO;
      }
      return -ENXIO;
    },
  };
}

// --- GICv2 ---------------------------------------------------------------------------------------

/** vgic_v2_parse_attr(): the vCPU is named by id in bits [39:32]; none → EINVAL. */
function v2ParseAttr(dist: VgicDist, attr: bigint): VgicCpu | undefined {
  const id = Number((attr & KVM_DEV_ARM_VGIC_CPUID_MASK) >> KVM_DEV_ARM_VGIC_CPUID_SHIFT);
  return dist.vcpuById(id);
}

/** vgic_v2_attr_regs_access(): any register access initialises the vGIC (lazily). */
function v2RegsAccess(dist: VgicDist, group: number, attr: bigint, buf: UserBuf | null, write: boolean): number {
  const vcpu = v2ParseAttr(dist, attr);
  if (!vcpu) return -EINVAL;
  let val = 0n;
  if (write) {
    const u = getUser(buf, 32);
    if (u.ret) return u.ret;
    val = u.value;
  }
  if (dist.vm.vcpusBusy()) return -EBUSY;
  const ret = vgicInit(dist);
  if (ret) return ret;
  const ctx: AccessCtx = { dist, vcpu, uaccess: true };
  const table = group === KVM_DEV_ARM_VGIC_GRP_CPU_REGS ? V2_CPU_TABLE : V2_DIST_TABLE;
  return regsRw(table, ctx, offsetOf(attr), buf, write, val);
}

export function vgicV2Ops(dist: VgicDist): KvmDeviceOps {
  return {
    type: KVM_DEV_TYPE_ARM_VGIC_V2,
    name: 'kvm-arm-vgic-v2',
    setAttr(group, attr, buf) {
      if (group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS || group === KVM_DEV_ARM_VGIC_GRP_CPU_REGS) {
        return v2RegsAccess(dist, group, attr, buf, true);
      }
      return setCommonAttr(dist, group, attr, buf);
    },
    getAttr(group, attr, buf) {
      if (group === KVM_DEV_ARM_VGIC_GRP_DIST_REGS || group === KVM_DEV_ARM_VGIC_GRP_CPU_REGS) {
        return v2RegsAccess(dist, group, attr, buf, false);
      }
      return getCommonAttr(dist, group, attr, buf);
    },
    hasAttr(group, attr) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          switch (Number(attr)) {
            case KVM_VGIC_V2_ADDR_TYPE_DIST:
            case KVM_VGIC_V2_ADDR_TYPE_CPU:
              return 0;
          }
          return -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_DIST_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_REGS: {
          if (!v2ParseAttr(dist, attr)) return -EINVAL;
          const table = group === KVM_DEV_ARM_VGIC_GRP_CPU_REGS ? V2_CPU_TABLE : V2_DIST_TABLE;
          return hasRegister(table, dist, offsetOf(attr)) ? 0 : -ENXIO;
        }
        case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
          return 0;
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          return Number(attr) === KVM_DEV_ARM_VGIC_CTRL_INIT ? 0 : -ENXIO;
      }
      return -ENXIO;
    },
  };
}

/**
 * KVM_CREATE_DEVICE for the vGIC family: returns the ops, or -errno. `test` only probes
 * (KVM_CREATE_DEVICE_TEST): it reports whether the type is supported without creating anything.
 */
export function createVgicDevice(dist: VgicDist, type: number, test: boolean): KvmDeviceOps | number {
  switch (type) {
    case KVM_DEV_TYPE_ARM_VGIC_V2:
      if (!dist.caps.gicv2Compat) return -ENODEV;
      if (test) return 0;
      {
        const r = vgicCreate(dist, 'v2');
        return r ? r : vgicV2Ops(dist);
      }
    case KVM_DEV_TYPE_ARM_VGIC_V3:
      // vgic_v5_probe(): a GICv5 host registers the GICv3 device only with the legacy interface.
      if (dist.v5Host && !dist.v5Host.legacyV3) return -ENODEV;
      if (test) return 0;
      {
        const r = vgicCreate(dist, 'v3');
        return r ? r : vgicV3Ops(dist);
      }
    case KVM_DEV_TYPE_ARM_VGIC_ITS:
      if (test) return 0;
      {
        // The ITS device lives in lib/vgic/its/ (vgic-its.c: vgic_its_create).
        const its = vgicItsCreate(dist);
        return vgicItsOps(dist, its);
      }
    case KVM_DEV_TYPE_ARM_VGIC_V5:
      return createVgicV5Device(dist, test);
  }
  return -ENODEV;
}


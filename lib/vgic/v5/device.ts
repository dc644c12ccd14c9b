// KVM_DEV_TYPE_ARM_VGIC_V5 as a KVM device: set/get/has attribute, group by group, with KVM's
// checks in KVM's order (vgic-kvm-device.c: vgic_v5_{set,get,has}_attr, vgic_v5_attr_regs_access,
// vgic_v5_parse_attr, vgic_v5_get_userspace_ppis, the v5 branches of kvm_vgic_addr and
// vgic_{set,get}_common_attr). 7.2 has only the PPI-only device ('ppi' profile); the rest is the
// IRS series (see host.ts).

import { EBUSY, EINVAL, ENODEV, ENOENT, ENXIO } from '../../uapi/errno.ts';
import {
  GICV5_IRS_ALIGN,
  KVM_DEV_ARM_VGIC_GRP_IRS_REGS,
  KVM_DEV_ARM_VGIC_GRP_IST,
  KVM_DEV_ARM_VGIC_USERSPACE_PPIS,
  KVM_VGIC_V5_ADDR_TYPE_IRS,
  KVM_VGIC_V5_IRS_SIZE,
  VGIC_V5_DEFAULT_NR_SPIS,
  VGIC_V5_MAX_NR_SPIS,
} from '../../uapi/gicv5.ts';
import {
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
  KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK,
  KVM_DEV_TYPE_ARM_VGIC_V5,
  KVM_DEV_ARM_VGIC_V3_MPIDR_MASK,
  KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT,
} from '../../uapi/kvm.ts';
import { checkIorange } from '../addr.ts';
import { vgicCreate } from '../init.ts';
import type { KvmDeviceOps } from '../kvm-device.ts';
import { ADDR_UNDEF, type VgicCpu, type VgicDist } from '../state.ts';
import { type UserBuf, getUser, putUser, putUserAt } from '../user-buf.ts';
import { v5CpuSysregGet, v5CpuSysregSet, v5HasCpuSysreg } from './cpu-interface.ts';
import { irsHasReg, irsRegsAccess } from './irs.ts';
import { istRestore, istSave } from './ist.ts';
import { Gicv5Vgic } from './vgic.ts';

// --- ADDR, NR_IRQS, CTRL -------------------------------------------------------------------------

/** kvm_vgic_addr() for a v5 device: only KVM_VGIC_V5_ADDR_TYPE_IRS; anything else ENXIO. */
function addrAttr(v5: Gicv5Vgic, attr: bigint, buf: UserBuf | null, write: boolean): number {
  let val = 0n;
  if (write) {
    const u = getUser(buf, 64);
    if (u.ret) return u.ret;
    val = u.value;
  }
  // vgic_check_type() and the default case give ENODEV, which vgic_{set,get}_common_attr turn
  // into ENXIO.
  if (attr !== BigInt(KVM_VGIC_V5_ADDR_TYPE_IRS)) return -ENXIO;
  if (write) {
    const r = checkIorange(v5.dist, v5.irsBase, val, BigInt(GICV5_IRS_ALIGN), BigInt(KVM_VGIC_V5_IRS_SIZE));
    if (r) return r;
    v5.irsBase = Number(val);
    return 0;
  }
  return putUser(buf, 64, v5.irsBase === ADDR_UNDEF ? 0xffffffffffffffffn : BigInt(v5.irsBase));
}

/**
 * NR_IRQS for GICv5 counts SPIs only. Final series: 32..VGIC_V5_MAX_NR_SPIS (1024) in steps of 32;
 * EBUSY once set or once the vGIC is initialised. Early series: any count from 1 to the host's
 * IRS_IDR5.SPI_RANGE (DOC-v2; seed 000: "there is no way to set SPIs to 0").
 */
function setNrIrqs(v5: Gicv5Vgic, buf: UserBuf | null): number {
  const u = getUser(buf, 32);
  if (u.ret) return u.ret;
  const val = Number(u.value);
  if (v5.uapi === 'irs-early') {
    if (val < 1 || val > v5.host.spiRange) return -EINVAL;
  } else if (val < VGIC_V5_DEFAULT_NR_SPIS || val > VGIC_V5_MAX_NR_SPIS || val & 31) {
    return -EINVAL;
  }
  if (v5.dist.initialized || v5.nrSpis) return -EBUSY;
  v5.nrSpis = val;
  return 0;
}

/**
 * vgic_v5_get_userspace_ppis(): two put_user()s, the first 64 PPIs from the mask and 0 for the
 * second word ("We only support 64 PPIs"). Before CTRL_INIT the mask is still all-zero.
 */
function getUserspacePpis(v5: Gicv5Vgic, buf: UserBuf | null): number {
  const r = putUserAt(buf, 0, 64, v5.userspacePpis);
  if (r) return r;
  return putUserAt(buf, 8, 64, 0n);
}

/** GRP_CTRL set: CTRL_INIT; USERSPACE_PPIS is read-only ("Attempts to set it are rejected", ENXIO). */
function ctrlSet(v5: Gicv5Vgic, attr: bigint): number {
  return attr === BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT) ? v5.init() : -ENXIO;
}

/** GRP_CTRL get: USERSPACE_PPIS; vgic_get_common_attr() has nothing for CTRL_INIT (ENXIO). */
function ctrlGet(v5: Gicv5Vgic, attr: bigint, buf: UserBuf | null): number {
  return attr === BigInt(KVM_DEV_ARM_VGIC_USERSPACE_PPIS) ? getUserspacePpis(v5, buf) : -ENXIO;
}

/** GRP_CTRL has: CTRL_INIT and USERSPACE_PPIS; SAVE_PENDING_TABLES and the ITS attributes ENXIO. */
function ctrlHas(attr: bigint): number {
  return attr === BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT) || attr === BigInt(KVM_DEV_ARM_VGIC_USERSPACE_PPIS) ? 0 : -ENXIO;
}

// --- CPU_SYSREGS and IRS_REGS ------------------------------------------------------------------------

/** vgic_v5_parse_attr(): CPU_SYSREGS names a vCPU by MPIDR, IRS_REGS uses vCPU 0; none is EINVAL. */
function parseAttr(dist: VgicDist, group: number, attr: bigint): VgicCpu | undefined {
  if (group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS) {
    const mpidr = Number((attr & KVM_DEV_ARM_VGIC_V3_MPIDR_MASK) >> KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT);
    return dist.vcpuByMpidr(mpidr);
  }
  return dist.vcpus[0];
}

/**
 * vgic_v5_attr_regs_access(): parse (EINVAL); for IRS_REGS fetch the __u64 first (EFAULT); all
 * vCPUs lockable (EBUSY); initialised (EBUSY, nothing is allowed before init); no write once a
 * vCPU has run (EBUSY); then the access; a read is stored last (EFAULT).
 */
function regsAccess(v5: Gicv5Vgic, group: number, attr: bigint, buf: UserBuf | null, write: boolean): number {
  const dist = v5.dist;
  const vcpu = parseAttr(dist, group, attr);
  if (!vcpu) return -EINVAL;
  const uaccess = group === KVM_DEV_ARM_VGIC_GRP_IRS_REGS;
  let val = 0n;
  if (uaccess && write) {
    const u = getUser(buf, 64);
    if (u.ret) return u.ret;
    val = u.value;
  }
  if (dist.vm.vcpusBusy()) return -EBUSY;
  if (!dist.initialized) return -EBUSY;
  if (write && dist.vm.anyVcpuRan()) return -EBUSY;
  if (group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS) {
    // The sysreg code does its own get_user/put_user after finding the register (ENOENT first).
    const enc = Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK);
    if (write) {
      if (v5HasCpuSysreg(enc)) return -ENOENT;
      const u = getUser(buf, 64);
      if (u.ret) return u.ret;
      return v5CpuSysregSet(v5, vcpu, enc, u.value);
    }
    const r = v5CpuSysregGet(v5, vcpu, enc);
    return r.ret ? r.ret : putUser(buf, 64, r.value);
  }
  const r = irsRegsAccess(v5, vcpu, attr, write, val);
  if (r.ret) return r.ret;
  return write ? 0 : putUser(buf, 64, r.value);
}

/** vgic_v5_has_attr_regs() */
function hasRegs(v5: Gicv5Vgic, group: number, attr: bigint): number {
  const vcpu = parseAttr(v5.dist, group, attr);
  if (!vcpu) return -EINVAL;
  if (group === KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS) return v5HasCpuSysreg(Number(attr & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK));
  return irsHasReg(attr);
}

// --- the ops -------------------------------------------------------------------------------------

/** 7.2's PPI-only device: vgic_v5_{set,get,has}_attr with CTRL {INIT, USERSPACE_PPIS} only. */
function ppiOnlyOps(v5: Gicv5Vgic): KvmDeviceOps {
  return {
    type: KVM_DEV_TYPE_ARM_VGIC_V5,
    name: 'kvm-arm-vgic-v5',
    setAttr(group, attr) {
      return group === KVM_DEV_ARM_VGIC_GRP_CTRL ? ctrlSet(v5, attr) : -ENXIO;
    },
    getAttr(group, attr, buf) {
      return group === KVM_DEV_ARM_VGIC_GRP_CTRL ? ctrlGet(v5, attr, buf) : -ENXIO;
    },
    hasAttr(group, attr) {
      return group === KVM_DEV_ARM_VGIC_GRP_CTRL ? ctrlHas(attr) : -ENXIO;
    },
  };
}

/** The IRS series' device (early and final contracts differ in NR_IRQS and GRP_IST only). */
function irsOps(v5: Gicv5Vgic): KvmDeviceOps {
  return {
    type: KVM_DEV_TYPE_ARM_VGIC_V5,
    name: 'kvm-arm-vgic-v5',
    setAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          return addrAttr(v5, attr, buf, true);
        case KVM_DEV_ARM_VGIC_GRP_IST:
          return attr ? -ENXIO : istRestore(v5, buf);
        case KVM_DEV_ARM_VGIC_GRP_IRS_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
          return regsAccess(v5, group, attr, buf, true);
        case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
          return setNrIrqs(v5, buf);
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          return ctrlSet(v5, attr);
      }
      return -ENXIO;
    },
    getAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          return addrAttr(v5, attr, buf, false);
        case KVM_DEV_ARM_VGIC_GRP_IST:
          return attr ? -ENXIO : istSave(v5, buf);
        case KVM_DEV_ARM_VGIC_GRP_IRS_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
          return regsAccess(v5, group, attr, buf, false);
        case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
          return putUser(buf, 32, BigInt(v5.nrSpis));
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          return ctrlGet(v5, attr, buf);
      }
      return -ENXIO;
    },
    hasAttr(group, attr) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          return attr === BigInt(KVM_VGIC_V5_ADDR_TYPE_IRS) ? 0 : -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_IRS_REGS:
        case KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS:
          return hasRegs(v5, group, attr);
        case KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
          return 0;
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          return ctrlHas(attr);
        case KVM_DEV_ARM_VGIC_GRP_IST:
          return attr ? -ENXIO : 0;
      }
      return -ENXIO;
    },
  };
}

/**
 * KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V5): registered only on a GICv5 host
 * (vgic_v5_probe -> kvm_register_vgic_device), else ENODEV; then kvm_vgic_create().
 */
export function createVgicV5Device(dist: VgicDist, test: boolean): KvmDeviceOps | number {
  const host = dist.v5Host;
  if (!host) return -ENODEV;
  if (test) return 0;
  const r = vgicCreate(dist, 'v5');
  if (r) return r;
  const v5 = new Gicv5Vgic(dist, host);
  dist.v5 = v5;
  return host.uapi === 'ppi' ? ppiOnlyOps(v5) : irsOps(v5);
}

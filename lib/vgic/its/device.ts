// KVM_DEV_TYPE_ARM_VGIC_ITS: creation and the device attributes (vgic-its.c: vgic_its_create,
// vgic_its_set_attr, vgic_its_get_attr, vgic_its_has_attr, vgic_its_has_attr_regs,
// vgic_its_attr_regs_access, vgic_its_ctrl, vgic_its_reset; Documentation/virt/kvm/devices/
// arm-vgic-its.rst). Several ITSes per VM are several devices, each with its own frame pair.

import { EBUSY, EINVAL, ENODEV, ENXIO } from '../../uapi/errno.ts';
import { GICR_PROPBASER_INNER_CACHEABILITY_SHIFT, GICR_PROPBASER_InnerShareable, GIC_BASER_CACHE_RaWb, GITS_BASER_VALID } from '../../uapi/its.ts';
import {
  KVM_DEV_ARM_ITS_CTRL_RESET,
  KVM_DEV_ARM_ITS_RESTORE_TABLES,
  KVM_DEV_ARM_ITS_SAVE_TABLES,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_GRP_ITS_REGS,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_VGIC_ITS_ADDR_TYPE,
  KVM_VGIC_V3_ITS_SIZE,
  VGIC_ADDR_UNDEF,
} from '../../uapi/kvm.ts';
import { checkIorange } from '../addr.ts';
import type { KvmDeviceOps } from '../kvm-device.ts';
import { ADDR_UNDEF, type VgicDist } from '../state.ts';
import { getUser, putUser } from '../user-buf.ts';
import { findItsRegister, itsRegAlignMask, itsUaccess, setAbi } from './registers.ts';
import { NR_ITS_ABIS, VgicIts, freeCollectionList, freeDeviceList, registerIts } from './state.ts';

/** INITIAL_PROPBASER_VALUE: inner RaWb, outer SameAsInner, inner shareable (0x580). */
const INITIAL_PROPBASER_VALUE = (GIC_BASER_CACHE_RaWb << GICR_PROPBASER_INNER_CACHEABILITY_SHIFT) | GICR_PROPBASER_InnerShareable;

/**
 * vgic_its_create(): a new ITS with its BASERs at their reset values; the VM now has an ITS
 * (GICD_TYPER.LPIS, GICR_TYPER.PLPIS, MSIs need a DeviceID) and PROPBASER is reset, whatever the
 * guest had put there.
 */
export function vgicItsCreate(dist: VgicDist): VgicIts {
  const its = new VgicIts(dist);
  registerIts(dist, its);
  dist.msisRequireDevid = true;
  dist.hasIts = true;
  dist.propbaser = INITIAL_PROPBASER_VALUE;
  setAbi(its, NR_ITS_ABIS - 1);
  return its;
}

/** vgic_its_reset() (KVM_DEV_ARM_ITS_CTRL_RESET): BASERs keep everything but Valid. */
export function vgicItsReset(its: VgicIts): void {
  its.baserCollTable &= ~GITS_BASER_VALID;
  its.baserDeviceTable &= ~GITS_BASER_VALID;
  its.cbaser = 0n;
  its.creadr = 0;
  its.cwriter = 0;
  its.enabled = false;
  freeDeviceList(its);
  freeCollectionList(its);
}

/** vgic_its_has_attr_regs(): EINVAL misaligned, ENXIO no register there. */
function hasAttrRegs(offset: bigint): number {
  if (offset >= 1n << 32n) return offset & 3n ? -EINVAL : -ENXIO;
  const off = Number(offset);
  if (off & itsRegAlignMask(off)) return -EINVAL;
  return findItsRegister(off) ? 0 : -ENXIO;
}

/** vgic_its_attr_regs_access(): alignment, vCPU locks, a base address, a register. */
function regsAccess(dist: VgicDist, its: VgicIts, attr: bigint, write: boolean, val: bigint): { ret: number; value: bigint } {
  // An offset beyond 32 bits is above GITS_PIDR4: 4-byte alignment, then no register (ENXIO).
  const off = attr < 1n << 32n ? Number(attr) : -1;
  if (off >= 0 ? off & itsRegAlignMask(off) : attr & 3n) return { ret: -EINVAL, value: 0n };
  if (dist.vm.vcpusBusy()) return { ret: -EBUSY, value: 0n };
  if (off < 0) return { ret: -ENXIO, value: 0n };
  return itsUaccess(its, off, write, val);
}

/** vgic_its_ctrl(): INIT does nothing; the others lock every vCPU first (EBUSY). */
function itsCtrl(dist: VgicDist, its: VgicIts, attr: bigint): number {
  if (attr === BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT)) return 0;
  if (dist.vm.vcpusBusy()) return -EBUSY;
  switch (attr) {
    case BigInt(KVM_DEV_ARM_ITS_CTRL_RESET):
      vgicItsReset(its);
      return 0;
    case BigInt(KVM_DEV_ARM_ITS_SAVE_TABLES):
    case BigInt(KVM_DEV_ARM_ITS_RESTORE_TABLES):
      // Table save/restore is not modelled yet (the next issue): accepted, nothing written or read.
      return 0;
  }
  return -ENXIO;
}

/** The device ops of one ITS (struct kvm_device_ops kvm_arm_vgic_its_ops). */
export function vgicItsOps(dist: VgicDist, its: VgicIts): KvmDeviceOps {
  return {
    type: KVM_DEV_TYPE_ARM_VGIC_ITS,
    name: 'kvm-arm-vgic-its',
    setAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR: {
          // vgic_its_set_attr(): only the ITS frame address; 64K aligned, 128K long
          if (attr !== BigInt(KVM_VGIC_ITS_ADDR_TYPE)) return -ENODEV;
          const u = getUser(buf, 64);
          if (u.ret) return u.ret;
          const ret = checkIorange(dist, its.base, u.value, 0x10000n, BigInt(KVM_VGIC_V3_ITS_SIZE));
          if (ret) return ret;
          // vgic_register_its_iodev(): the frame pair is on the MMIO bus from now on
          its.base = Number(u.value);
          return 0;
        }
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          return itsCtrl(dist, its, attr);
        case KVM_DEV_ARM_VGIC_GRP_ITS_REGS: {
          const u = getUser(buf, 64);
          if (u.ret) return u.ret;
          return regsAccess(dist, its, attr, true, u.value).ret;
        }
      }
      return -ENXIO;
    },
    getAttr(group, attr, buf) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          if (attr !== BigInt(KVM_VGIC_ITS_ADDR_TYPE)) return -ENODEV;
          return putUser(buf, 64, its.base === ADDR_UNDEF ? VGIC_ADDR_UNDEF : BigInt(its.base));
        case KVM_DEV_ARM_VGIC_GRP_ITS_REGS: {
          const r = regsAccess(dist, its, attr, false, 0n);
          return r.ret ? r.ret : putUser(buf, 64, r.value);
        }
      }
      return -ENXIO;
    },
    hasAttr(group, attr) {
      switch (group) {
        case KVM_DEV_ARM_VGIC_GRP_ADDR:
          return attr === BigInt(KVM_VGIC_ITS_ADDR_TYPE) ? 0 : -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_CTRL:
          switch (attr) {
            case BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT):
            case BigInt(KVM_DEV_ARM_ITS_CTRL_RESET):
            case BigInt(KVM_DEV_ARM_ITS_SAVE_TABLES):
            case BigInt(KVM_DEV_ARM_ITS_RESTORE_TABLES):
              return 0;
          }
          return -ENXIO;
        case KVM_DEV_ARM_VGIC_GRP_ITS_REGS:
          return hasAttrRegs(attr);
      }
      return -ENXIO;
    },
  };
}

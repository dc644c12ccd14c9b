// KVM_DEV_ARM_VGIC_GRP_IST: saving and restoring the Interrupt State Tables the host IRS keeps
// for the VM (IRS series: vgic_v5_irs_save_ists / vgic_v5_irs_restore_ists; vgic-v5-tables.c:
// vgic_v5_save_{spi,lpi}_ist, vgic_v5_restore_{spi,lpi}_ist).
//
// Two contracts, one per host-kernel profile (host.ts):
//
//  'irs-final' (IRS series v5): attr->addr points to struct kvm_vgic_v5_ist. The SPI buffer is
//  required and its size must be exactly nr_spis * 4; an LPI buffer is required, of exactly
//  (1 << IST_CFGR.LPI_ID_BITS) * 4 bytes, iff the guest's IST_BASER is valid, else both LPI fields
//  must be 0. Every mismatch is EINVAL before a byte is copied. The entries are the 32-bit ISTEs.
//  The top-level checks and their order follow arm-vgic-v5.rst (IRS series), the reference's A.4
//  table and the series' selftest; the kernel's vgic_v5_irs_{save,restore}_ists() was not readable.
//
//  'irs-early' (IRS series v1/v2, seed 000): attr->addr is a raw pointer to SPI entries. KVM never
//  learns the buffer's size and walks every entry of the host SPI IST, which kvm_vgic_v5_irs_init()
//  rounded up to at least 16: with 1 SPI requested, a one-entry buffer has 60 bytes after it
//  overwritten. ENOENT if a buffer is given but there is no SPI IST (DOC-v2). The early series also
//  wrote the LPI IST back into guest memory; that part is not modelled here.

import { EBUSY, EFAULT, EINVAL, ENOENT, ENXIO, ETIMEDOUT } from '../../uapi/errno.ts';
import {
  KVM_VGIC_V5_IST_LPI_ADDR,
  KVM_VGIC_V5_IST_LPI_SIZE,
  KVM_VGIC_V5_IST_SPI_ADDR,
  KVM_VGIC_V5_IST_SPI_SIZE,
  KVM_VGIC_V5_IST_STRUCT_SIZE,
} from '../../uapi/gicv5.ts';
import { type UserBuf, copyFromUser, getUser32, getUserAt, putUser32, putUserAt, userAddress } from '../user-buf.ts';
import type { V5Irq } from './irq.ts';
import { istCfgrValid, lpiIstAlloc } from './irs.ts';
import type { Gicv5Vgic } from './vgic.ts';

/** struct kvm_vgic_v5_ist as read from user memory. */
interface IstDesc {
  spiAddr: bigint;
  spiSize: bigint;
  lpiAddr: bigint;
  lpiSize: bigint;
}

function u64At(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

/** vgic_v5_irs_lpi_ist_id_bits(): 0 without a valid BASER, -EINVAL for a bad IST_CFGR, else 1. */
function lpiIstIdBits(v5: Gicv5Vgic): { ret: number; bits: number } {
  if (!v5.irs.istBaser.valid) return { ret: 0, bits: 0 };
  if (!istCfgrValid(v5)) return { ret: -EINVAL, bits: 0 };
  return { ret: 1, bits: v5.irs.istCfgr.lpiIdBits };
}

/** Fetch and validate the descriptor: NULL EINVAL, unreadable EFAULT, any size mismatch EINVAL. */
function readDesc(v5: Gicv5Vgic, buf: UserBuf | null): IstDesc | number {
  const addr = userAddress(buf);
  if (addr === 0n) return -EINVAL;
  // A value buffer (U64Buf) is eight mapped bytes: the 32-byte struct does not fit.
  const b = addr === null ? null : copyFromUser(addr, KVM_VGIC_V5_IST_STRUCT_SIZE);
  if (!b) return -EFAULT;
  const d: IstDesc = {
    spiAddr: u64At(b, KVM_VGIC_V5_IST_SPI_ADDR),
    spiSize: u64At(b, KVM_VGIC_V5_IST_SPI_SIZE),
    lpiAddr: u64At(b, KVM_VGIC_V5_IST_LPI_ADDR),
    lpiSize: u64At(b, KVM_VGIC_V5_IST_LPI_SIZE),
  };
  if (!d.spiAddr || !d.spiSize || d.spiSize !== BigInt(v5.nrSpis * 4)) return -EINVAL;
  const lpi = lpiIstIdBits(v5);
  if (lpi.ret < 0) return lpi.ret;
  if (!lpi.ret) {
    if (d.lpiAddr || d.lpiSize) return -EINVAL; // "LPI storage must be absent when no LPI IST is configured"
  } else if (!d.lpiAddr || d.lpiSize !== BigInt((1 << lpi.bits) * 4)) {
    return -EINVAL;
  }
  return d;
}

/** vgic_v5_get_lpi_ist_desc(): the guest's BASER and the host IST must agree, else ENXIO. */
function lpiIstPresent(v5: Gicv5Vgic): number | boolean {
  const guestValid = v5.irs.istBaser.valid;
  const hostValid = v5.lpis !== null;
  if (!guestValid && !hostValid) return false;
  if (guestValid !== hostValid) return -ENXIO;
  return true;
}

function saveEntries(irqs: readonly V5Irq[], addr: bigint): number {
  for (let i = 0; i < irqs.length; i++) if (!putUser32(addr + BigInt(i * 4), irqs[i]!.toIste())) return -EFAULT;
  return 0;
}
function restoreEntries(irqs: readonly V5Irq[], addr: bigint): number {
  for (let i = 0; i < irqs.length; i++) {
    const v = getUser32(addr + BigInt(i * 4));
    if (v === null) return -EFAULT;
    irqs[i]!.fromIste(v);
  }
  return 0;
}

/** Common entry checks: vCPUs locked (EBUSY while one runs), the vGIC initialised (EBUSY). */
function entryChecks(v5: Gicv5Vgic): number {
  if (v5.dist.vm.vcpusBusy()) return -EBUSY;
  if (!v5.dist.initialized) return -EBUSY;
  return 0;
}

/** KVM_GET_DEVICE_ATTR(GRP_IST, 0): save. */
export function istSave(v5: Gicv5Vgic, buf: UserBuf | null): number {
  const r = entryChecks(v5);
  if (r) return r;
  if (v5.uapi === 'irs-early') return earlyWalk(v5, buf, true);
  const d = readDesc(v5, buf);
  if (typeof d === 'number') return d;
  // IRS_SAVE_VMR: quiesce the VM and wait for IRS_SAVE_VM_STATUSR to go idle.
  if (v5.host.faults.irsTimeout) return -ETIMEDOUT;
  let ret = saveEntries(v5.spis, d.spiAddr);
  if (ret) return ret;
  const lpi = lpiIstPresent(v5);
  if (typeof lpi === 'number') return lpi;
  if (lpi) {
    // "Refuse to walk a host IST with a different number of entries."
    if (v5.lpiIdBits !== v5.irs.istCfgr.lpiIdBits) return -EINVAL;
    ret = saveEntries(v5.lpis!, d.lpiAddr);
    if (ret) return ret;
  }
  // "returns an error if the VM did not stay quiesced (userspace retries)"
  if (v5.host.faults.quiesceLost) return -EBUSY;
  return 0;
}

/** KVM_SET_DEVICE_ATTR(GRP_IST, 0): restore, only before any vCPU has run. */
export function istRestore(v5: Gicv5Vgic, buf: UserBuf | null): number {
  let r = entryChecks(v5);
  if (r) return r;
  if (v5.dist.vm.anyVcpuRan()) return -EBUSY;
  if (v5.uapi === 'irs-early') return earlyWalk(v5, buf, false);
  const d = readDesc(v5, buf);
  if (typeof d === 'number') return d;
  if (v5.host.faults.irsTimeout) return -ETIMEDOUT;
  // The host LPI IST for a restored valid IST_BASER is allocated here (arm-vgic-v5.rst: "any host
  // LPI IST allocation ... happens when KVM_DEV_ARM_VGIC_GRP_IST is restored"); one that already
  // exists is EBUSY (vgic_v5_lpi_ist_alloc).
  if (v5.irs.lpiIstRestorePending && v5.irs.istBaser.valid) {
    r = lpiIstAlloc(v5, v5.irs.istCfgr.lpiIdBits);
    if (r) return r;
  }
  r = restoreEntries(v5.spis, d.spiAddr);
  if (r) return r;
  const lpi = lpiIstPresent(v5);
  if (typeof lpi === 'number') return lpi;
  if (lpi) {
    r = restoreEntries(v5.lpis!, d.lpiAddr);
    if (r) return r;
  }
  v5.irs.lpiIstRestorePending = false;
  v5.kick();
  return 0;
}

/**
 * The early contract: put_user()/get_user() over every host SPI IST entry at attr->addr, as many
 * as the host IST has (at least 16) whatever userspace asked for.
 */
function earlyWalk(v5: Gicv5Vgic, buf: UserBuf | null, save: boolean): number {
  const entries = v5.spis.length + v5.spiIstSpare.length;
  if (!entries) return userAddress(buf) === 0n ? 0 : -ENOENT;
  for (let i = 0; i < entries; i++) {
    const spi = v5.spis[i];
    if (save) {
      const v = spi ? spi.toIste() : v5.spiIstSpare[i - v5.spis.length]!;
      const r = putUserAt(buf, i * 4, 32, BigInt(v));
      if (r) return r;
    } else {
      const g = getUserAt(buf, i * 4, 32);
      if (g.ret) return g.ret;
      if (spi) spi.fromIste(Number(g.value));
      else v5.spiIstSpare[i - v5.spis.length] = Number(g.value) >>> 0;
    }
  }
  if (!save) v5.kick();
  return 0;
}

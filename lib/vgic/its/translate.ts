// MSI translation: DeviceID/EventID -> ITE -> collection -> vCPU and LPI, through the per-ITS
// translation cache first (vgic-its.c: vgic_its_resolve_lpi, vgic_its_trigger_msi,
// vgic_its_check_cache, vgic_its_inject_cached_translation, vgic_msi_to_its, vgic_its_inject_msi).

import { EBUSY, EINVAL, ENODEV } from '../../uapi/errno.ts';
import { E_ITS_INT_UNMAPPED_INTERRUPT, type KvmMsi } from '../../uapi/its.ts';
import { KVM_MSI_VALID_DEVID } from '../../uapi/kvm-irq.ts';
import { type VgicLpi, lpiSetPending, vgicLpisEnabled } from '../lpi.ts';
import type { VgicDist } from '../state.ts';
import {
  VITS_MAX_DEVID,
  VITS_MAX_EVENTID,
  type VgicIts,
  cacheKey,
  cacheTranslation,
  collectionToVcpu,
  doorbellToIts,
  findIte,
  isCollectionMapped,
} from './state.ts';

/** The doorbell address of a struct kvm_msi (address_hi << 32 | address_lo). */
export function msiDoorbell(msi: KvmMsi): number {
  return (msi.address_hi >>> 0) * 2 ** 32 + (msi.address_lo >>> 0);
}

/**
 * vgic_its_resolve_lpi(): the LPI, or -EBUSY (ITS disabled, or LPIs off at the target) or
 * E_ITS_INT_UNMAPPED_INTERRUPT (no ITE, unmapped collection, no such vCPU). A successful
 * translation is cached.
 */
export function resolveLpi(its: VgicIts, devid: number, eventid: number): VgicLpi | number {
  if (!its.enabled) return -EBUSY;
  const ite = findIte(its, devid, eventid);
  if (!ite || !isCollectionMapped(ite.collection)) return E_ITS_INT_UNMAPPED_INTERRUPT;
  const vcpu = collectionToVcpu(its.dist, ite.collection);
  if (!vcpu || !ite.irq) return E_ITS_INT_UNMAPPED_INTERRUPT;
  if (!vgicLpisEnabled(vcpu)) return -EBUSY;
  cacheTranslation(its, devid, eventid, ite.irq);
  return ite.irq;
}

/** vgic_its_trigger_msi(): 0 when the LPI became pending, else resolveLpi's code. */
export function triggerMsi(its: VgicIts, devid: number, eventid: number): number {
  const r = resolveLpi(its, devid, eventid);
  if (typeof r === 'number') return r;
  lpiSetPending(its.dist, r);
  return 0;
}

/**
 * vgic_its_inject_cached_translation(): a cache hit makes the LPI pending with no other check
 * (no KVM_MSI_VALID_DEVID test, no enable test: the cache is emptied whenever those change).
 */
export function injectCachedTranslation(dist: VgicDist, msi: KvmMsi): boolean {
  const devid = msi.devid >>> 0;
  const eventid = msi.data >>> 0;
  if (devid > VITS_MAX_DEVID || eventid > VITS_MAX_EVENTID) return false;
  const its = doorbellToIts(dist, msiDoorbell(msi));
  const lpi = its?.translationCache.get(cacheKey(devid, eventid));
  if (!lpi) return false;
  lpiSetPending(dist, lpi);
  return true;
}

/** vgic_msi_to_its(): the ITS, or -ENODEV (no ITS) / -EINVAL (no DeviceID, doorbell not an ITS). */
export function msiToIts(dist: VgicDist, msi: KvmMsi): VgicIts | number {
  if (!dist.hasIts) return -ENODEV;
  if (!(msi.flags & KVM_MSI_VALID_DEVID)) return -EINVAL;
  return doorbellToIts(dist, msiDoorbell(msi)) ?? -EINVAL;
}

/**
 * vgic_its_inject_msi(): 1 delivered (cached or translated), 0 blocked by the guest's mappings
 * (any E_ITS_* code), -errno otherwise (ENODEV, EINVAL, EBUSY).
 */
export function vgicItsInjectMsi(dist: VgicDist, msi: KvmMsi): number {
  if (injectCachedTranslation(dist, msi)) return 1;
  const its = msiToIts(dist, msi);
  if (typeof its === 'number') return its;
  const ret = triggerMsi(its, msi.devid >>> 0, msi.data >>> 0);
  if (ret < 0) return ret;
  return ret ? 0 : 1;
}

// The state of one virtual ITS (struct vgic_its) and its software tables: devices with their
// interrupt translation entries, collections, and the per-ITS translation cache
// (vgic-its.c: struct its_device, its_ite, its_collection; find_its_device, find_ite,
// find_collection, its_free_ite, vgic_its_free_device, vgic_its_free_collection,
// vgic_its_cache_translation, vgic_its_invalidate_cache, update_affinity_*).
//
// Everything is kept in insertion order (Maps), as KVM's lists are, so that table save/restore
// can walk devices, their ITEs and the collections the way vgic_its_save_tables_v0 does.

import {
  GIC_BASER_CACHE_RaWb,
  GIC_BASER_InnerShareable,
  GITS_BASER_ENTRY_SIZE_SHIFT,
  GITS_BASER_INNER_CACHEABILITY_SHIFT,
  GITS_BASER_PAGE_SIZE_64K,
  GITS_BASER_SHAREABILITY_SHIFT,
  GITS_BASER_TYPE_COLLECTION,
  GITS_BASER_TYPE_DEVICE,
  GITS_BASER_TYPE_SHIFT,
} from '../../uapi/its.ts';
import { KVM_VGIC_V3_ITS_SIZE } from '../../uapi/kvm.ts';
import { type VgicLpi, getLpiRef, putLpi, updateAffinity } from '../lpi.ts';
import { ADDR_UNDEF, type VgicCpu, type VgicDist } from '../state.ts';

/** COLLECTION_NOT_MAPPED: a collection created by MAPTI before any MAPC names it. */
export const COLLECTION_NOT_MAPPED = 0xffffffff;

/** VITS_TYPER_IDBITS / VITS_TYPER_DEVBITS: 16-bit EventIDs and DeviceIDs. */
export const VITS_TYPER_IDBITS = 16;
export const VITS_TYPER_DEVBITS = 16;
export const VITS_MAX_EVENTID = 2 ** VITS_TYPER_IDBITS - 1;
export const VITS_MAX_DEVID = 2 ** VITS_TYPER_DEVBITS - 1;

/** ABI revision 0: 8-byte device, ITT and collection table entries (its_table_abi_versions[0]). */
export const ABI_0_ESZ = 8;
export const NR_ITS_ABIS = 1;

export interface ItsCollection {
  readonly collectionId: number;
  /** The target redistributor as a vCPU id (GITS_TYPER.PTA = 0), or COLLECTION_NOT_MAPPED. */
  targetAddr: number;
}

export interface ItsIte {
  readonly eventId: number;
  collection: ItsCollection | null;
  irq: VgicLpi | null;
}

export interface ItsDevice {
  readonly deviceId: number;
  readonly ittAddr: number;
  readonly numEventIdBits: number;
  /** itt_head, in mapping order. */
  readonly ites: Map<number, ItsIte>;
}

/** INITIAL_BASER_VALUE: inner RaWb, outer SameAsInner, inner shareable, 64K pages. */
const INITIAL_BASER_VALUE =
  (GIC_BASER_CACHE_RaWb << GITS_BASER_INNER_CACHEABILITY_SHIFT) |
  (GIC_BASER_InnerShareable << GITS_BASER_SHAREABILITY_SHIFT) |
  GITS_BASER_PAGE_SIZE_64K;

export class VgicIts {
  /** ITS_base (vgic_its_base), ADDR_UNDEF until KVM_VGIC_ITS_ADDR_TYPE is set. */
  base = ADDR_UNDEF;
  enabled = false;
  abiRev = 0;
  cbaser = 0n;
  creadr = 0;
  cwriter = 0;
  baserDeviceTable: bigint;
  baserCollTable: bigint;
  /** device_list */
  readonly devices = new Map<number, ItsDevice>();
  /** collection_list */
  readonly collections = new Map<number, ItsCollection>();
  /** translation_cache: (DeviceID << 16 | EventID) -> LPI, each entry holding a reference. */
  readonly translationCache = new Map<number, VgicLpi>();

  constructor(readonly dist: VgicDist) {
    // vgic-its.c: vgic_its_create, then vgic_its_set_abi(NR_ITS_ABIS - 1) -> vgic_its_commit_v0
    const esz = BigInt(ABI_0_ESZ - 1) << GITS_BASER_ENTRY_SIZE_SHIFT;
    this.baserDeviceTable = INITIAL_BASER_VALUE | (BigInt(GITS_BASER_TYPE_DEVICE) << GITS_BASER_TYPE_SHIFT) | esz;
    this.baserCollTable = INITIAL_BASER_VALUE | (BigInt(GITS_BASER_TYPE_COLLECTION) << GITS_BASER_TYPE_SHIFT) | esz;
  }
}

// --- the VM's ITSes (the KVM MMIO bus, as far as doorbells are concerned) ------------------------------

/** Every ITS device of the VM (kvm->devices filtered by kvm_arm_vgic_its_ops), kept on the dist. */
export function itsesOf(dist: VgicDist): readonly VgicIts[] {
  return dist.itses;
}

export function registerIts(dist: VgicDist, its: VgicIts): void {
  dist.itses.push(its);
}

/**
 * __vgic_doorbell_to_its(): the ITS whose 128 KiB frame pair holds `db` (any address in it, not
 * only GITS_TRANSLATER: kvm_io_bus_get_dev matches the whole registered range), or null (EINVAL).
 * Overlapping ITS frames are not refused by KVM; the lowest base wins here, as the sorted bus does.
 */
export function doorbellToIts(dist: VgicDist, db: number): VgicIts | null {
  let found: VgicIts | null = null;
  for (const its of itsesOf(dist)) {
    if (its.base === ADDR_UNDEF || db < its.base || db >= its.base + KVM_VGIC_V3_ITS_SIZE) continue;
    if (!found || its.base < found.base) found = its;
  }
  return found;
}

// --- lookups --------------------------------------------------------------------------------------------

export function findItsDevice(its: VgicIts, deviceId: number): ItsDevice | undefined {
  return its.devices.get(deviceId);
}

export function findIte(its: VgicIts, deviceId: number, eventId: number): ItsIte | undefined {
  return its.devices.get(deviceId)?.ites.get(eventId);
}

export function findCollection(its: VgicIts, collId: number): ItsCollection | undefined {
  return its.collections.get(collId);
}

/** its_is_collection_mapped() */
export function isCollectionMapped(c: ItsCollection | null | undefined): c is ItsCollection {
  return !!c && c.targetAddr !== COLLECTION_NOT_MAPPED;
}

/** collection_to_vcpu(): kvm_get_vcpu_by_id(target_addr). */
export function collectionToVcpu(dist: VgicDist, c: ItsCollection): VgicCpu | undefined {
  return dist.vcpuById(c.targetAddr);
}

// --- the translation cache -------------------------------------------------------------------------------

/** vgic_its_cache_key() */
export function cacheKey(devid: number, eventid: number): number {
  return devid * CACHE_KEY_SHIFT + eventid;
}
/** 1 << VITS_TYPER_IDBITS, as a multiplier (DeviceIDs reach 2^16, so the key needs 32 bits). */
const CACHE_KEY_SHIFT = 2 ** VITS_TYPER_IDBITS;

/** vgic_its_cache_translation(): the cache holds its own reference on the LPI. */
export function cacheTranslation(its: VgicIts, devid: number, eventid: number, lpi: VgicLpi): void {
  const key = cacheKey(devid, eventid);
  getLpiRef(lpi);
  const old = its.translationCache.get(key);
  its.translationCache.set(key, lpi);
  if (old) putLpi(its.dist, old);
}

/** vgic_its_invalidate_cache() */
export function invalidateCache(its: VgicIts): void {
  if (!its.translationCache.size) return;
  const entries = [...its.translationCache.values()];
  its.translationCache.clear();
  for (const lpi of entries) putLpi(its.dist, lpi);
}

/** vgic_its_invalidate_all_caches() */
export function invalidateAllCaches(dist: VgicDist): void {
  for (const its of itsesOf(dist)) invalidateCache(its);
}

// --- freeing ---------------------------------------------------------------------------------------------

/** its_free_ite(): the ITE goes, and with it the mapping's reference on the LPI. */
export function freeIte(its: VgicIts, device: ItsDevice, ite: ItsIte): void {
  device.ites.delete(ite.eventId);
  if (ite.irq) putLpi(its.dist, ite.irq);
}

/** vgic_its_free_device(): every ITE, the cache, then the device. */
export function freeDevice(its: VgicIts, device: ItsDevice): void {
  for (const ite of [...device.ites.values()]) freeIte(its, device, ite);
  invalidateCache(its);
  its.devices.delete(device.deviceId);
}

export function freeDeviceList(its: VgicIts): void {
  for (const d of [...its.devices.values()]) freeDevice(its, d);
}

/** vgic_its_free_collection(): ITEs in it lose their collection. */
export function freeCollection(its: VgicIts, collId: number): void {
  const c = its.collections.get(collId);
  if (!c) return;
  for (const d of its.devices.values()) {
    for (const ite of d.ites.values()) if (ite.collection && ite.collection.collectionId === collId) ite.collection = null;
  }
  its.collections.delete(collId);
}

export function freeCollectionList(its: VgicIts): void {
  for (const id of [...its.collections.keys()]) freeCollection(its, id);
}

// --- affinity --------------------------------------------------------------------------------------------

/** update_affinity_ite() */
export function updateAffinityIte(its: VgicIts, ite: ItsIte): void {
  if (!isCollectionMapped(ite.collection) || !ite.irq) return;
  updateAffinity(its.dist, ite.irq, null, collectionToVcpu(its.dist, ite.collection) ?? null);
}

/** update_affinity_collection(): every ITE of this ITS in the collection follows it. */
export function updateAffinityCollection(its: VgicIts, coll: ItsCollection): void {
  for (const d of its.devices.values()) {
    for (const ite of d.ites.values()) if (ite.collection === coll) updateAffinityIte(its, ite);
  }
}

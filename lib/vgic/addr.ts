// KVM_DEV_ARM_VGIC_GRP_ADDR and redistributor placement
// (vgic-kvm-device.c: kvm_vgic_addr, vgic_check_iorange; vgic-mmio-v3.c:
// vgic_v3_alloc_redist_region, vgic_v3_set_redist_base, vgic_register_redist_iodev; vgic-v3.c:
// vgic_v3_check_base, vgic_v3_rdist_free_slot).

import { E2BIG, EEXIST, EINVAL, ENODEV, ENOENT } from '../uapi/errno.ts';
import {
  KVM_VGIC_V2_ADDR_TYPE_CPU,
  KVM_VGIC_V2_ADDR_TYPE_DIST,
  KVM_VGIC_V2_CPU_SIZE,
  KVM_VGIC_V2_DIST_SIZE,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION,
  KVM_VGIC_V3_DIST_SIZE,
  KVM_VGIC_V3_RDIST_BASE_MASK,
  KVM_VGIC_V3_RDIST_COUNT_SHIFT,
  KVM_VGIC_V3_RDIST_FLAGS_MASK,
  KVM_VGIC_V3_RDIST_FLAGS_SHIFT,
  KVM_VGIC_V3_RDIST_INDEX_MASK,
  KVM_VGIC_V3_REDIST_SIZE,
  VGIC_ADDR_UNDEF,
} from '../uapi/kvm.ts';
import { ADDR_UNDEF, type RedistRegion, type VgicCpu, type VgicDist, type VgicModel } from './state.ts';

const SZ_4K = 0x1000n;
const SZ_64K = 0x10000n;

/** vgic_check_iorange(): EEXIST if already set, EINVAL unaligned or wrapping, E2BIG beyond the IPA. */
export function checkIorange(dist: VgicDist, current: number, addr: bigint, align: bigint, size: bigint): number {
  if (current !== ADDR_UNDEF) return -EEXIST;
  if (addr % align !== 0n || size % align !== 0n) return -EINVAL;
  const end = addr + size;
  if (end > 0xffffffffffffffffn) return -EINVAL; // addr + size wraps in u64
  const physSize = 1n << BigInt(dist.vm.ipaBits);
  if (addr & ~(physSize - 1n) || end > physSize) return -E2BIG;
  return 0;
}

/** vgic_v3_rd_region_size(): a legacy region grows with the online vCPU count. */
export function rdRegionSize(dist: VgicDist, r: RedistRegion): number {
  return (r.count ? r.count : dist.vcpus.length) * KVM_VGIC_V3_REDIST_SIZE;
}

function rdistOverlap(dist: VgicDist, base: number, size: number): boolean {
  return dist.rdRegions.some((r) => base + size > r.base && base < r.base + rdRegionSize(dist, r));
}

function distOverlap(dist: VgicDist, base: number, size: number): boolean {
  return base + size > dist.distBase && base < dist.distBase + KVM_VGIC_V3_DIST_SIZE;
}

/** vgic_v3_check_base(): every region inside the IPA space, none overlapping the distributor. */
export function v3CheckBase(dist: VgicDist): boolean {
  for (const r of dist.rdRegions) {
    if (checkIorange(dist, ADDR_UNDEF, BigInt(r.base), SZ_64K, BigInt(rdRegionSize(dist, r)))) return false;
  }
  if (dist.distBase === ADDR_UNDEF) return true;
  return !rdistOverlap(dist, dist.distBase, KVM_VGIC_V3_DIST_SIZE);
}

/** vgic_v3_rdist_free_slot(): first region that is not full (a legacy region never is). */
function freeSlot(dist: VgicDist): RedistRegion | undefined {
  return dist.rdRegions.find((r) => !r.count || r.freeIndex < r.count);
}

/** vgic_register_redist_iodev(): place this vCPU's redistributor, if a slot exists. 0 or -errno. */
export function registerRedist(dist: VgicDist, vcpu: VgicCpu): number {
  if (vcpu.rdBase !== ADDR_UNDEF) return 0;
  const r = freeSlot(dist);
  if (!r) return 0; // regions not set yet: this runs again when one is
  if (!v3CheckBase(dist)) return -EINVAL;
  vcpu.rdreg = r;
  vcpu.rdregIndex = r.freeIndex;
  vcpu.rdBase = r.base + r.freeIndex * KVM_VGIC_V3_REDIST_SIZE;
  r.freeIndex++;
  return 0;
}

/** vgic_v3_alloc_redist_region(): the order of checks decides which errno userspace sees. */
function allocRedistRegion(dist: VgicDist, index: number, base: bigint, count: number): number {
  const size = BigInt((count ? count : dist.vcpus.length) * KVM_VGIC_V3_REDIST_SIZE);
  if (base + size > 0xffffffffffffffffn) return -EINVAL; // crosses the end of memory
  const last = dist.rdRegions[dist.rdRegions.length - 1];
  if (!last) {
    if (index !== 0) return -EINVAL;
  } else {
    if (!count && last.count) return -EINVAL; // don't mix legacy and counted regions
    if (!count) return -EEXIST;
    if (index !== last.index + 1) return -EINVAL;
  }
  // Addresses beyond 2^53 fail the IPA check below; compare overlaps only on representable ones.
  const b = Number(base);
  if (base < 1n << 53n) {
    if (!count && dist.distBase !== ADDR_UNDEF && distOverlap(dist, b, Number(size))) return -EINVAL;
    if (rdistOverlap(dist, b, Number(size))) return -EINVAL;
  }
  const ret = checkIorange(dist, ADDR_UNDEF, base, SZ_64K, size);
  if (ret) return ret;
  dist.rdRegions.push({ index, base: b, count, freeIndex: 0 });
  return 0;
}

/** vgic_v3_free_redist_region() */
function freeRedistRegion(dist: VgicDist, r: RedistRegion): void {
  for (const v of dist.vcpus) {
    if (v.rdreg === r) {
      v.rdreg = null;
      v.rdBase = ADDR_UNDEF;
    }
  }
  dist.rdRegions.splice(dist.rdRegions.indexOf(r), 1);
}

/** vgic_v3_set_redist_base(): add the region, then place every existing vCPU; undo on failure. */
function setRedistBase(dist: VgicDist, index: number, base: bigint, count: number): number {
  let ret = allocRedistRegion(dist, index, base, count);
  if (ret) return ret;
  for (const v of dist.vcpus) {
    ret = registerRedist(dist, v);
    if (ret) break;
  }
  if (ret) {
    const r = dist.rdRegions.find((x) => x.index === index);
    if (r) freeRedistRegion(dist, r);
  }
  return ret;
}

/** Result of a GRP_ADDR access: 0 or -errno (ENODEV is turned into ENXIO by the caller). */
export interface AddrResult {
  ret: number;
  value: bigint;
}

function modelIs(dist: VgicDist, m: VgicModel): boolean {
  return dist.model === m;
}

const bigOrUndef = (a: number): bigint => (a === ADDR_UNDEF ? VGIC_ADDR_UNDEF : BigInt(a));

/**
 * kvm_vgic_addr(). `value` is what userspace passed (already read from its buffer) for writes
 * and for REDIST_REGION reads (which carry the index).
 */
export function vgicAddr(dist: VgicDist, type: number, write: boolean, value: bigint): AddrResult {
  const done = (ret: number, v = 0n): AddrResult => ({ ret, value: v });
  let slot: 'dist' | 'cpu';
  let align: bigint;
  let size: number;
  switch (type) {
    case KVM_VGIC_V2_ADDR_TYPE_DIST:
      if (!modelIs(dist, 'v2')) return done(-ENODEV);
      [slot, align, size] = ['dist', SZ_4K, KVM_VGIC_V2_DIST_SIZE];
      break;
    case KVM_VGIC_V2_ADDR_TYPE_CPU:
      if (!modelIs(dist, 'v2')) return done(-ENODEV);
      [slot, align, size] = ['cpu', SZ_4K, KVM_VGIC_V2_CPU_SIZE];
      break;
    case KVM_VGIC_V3_ADDR_TYPE_DIST:
      if (!modelIs(dist, 'v3')) return done(-ENODEV);
      [slot, align, size] = ['dist', SZ_64K, KVM_VGIC_V3_DIST_SIZE];
      break;
    case KVM_VGIC_V3_ADDR_TYPE_REDIST: {
      if (!modelIs(dist, 'v3')) return done(-ENODEV);
      if (write) return done(setRedistBase(dist, 0, value, 0));
      const first = dist.rdRegions[0];
      return done(0, first ? BigInt(first.base) : VGIC_ADDR_UNDEF);
    }
    case KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION: {
      if (!modelIs(dist, 'v3')) return done(-ENODEV);
      // The kernel keeps the index in a u8.
      const index = Number(value & KVM_VGIC_V3_RDIST_INDEX_MASK) & 0xff;
      if (write) {
        const base = value & KVM_VGIC_V3_RDIST_BASE_MASK;
        const count = Number(value >> KVM_VGIC_V3_RDIST_COUNT_SHIFT);
        const flags = Number((value & KVM_VGIC_V3_RDIST_FLAGS_MASK) >> KVM_VGIC_V3_RDIST_FLAGS_SHIFT);
        if (!count || flags) return done(-EINVAL);
        return done(setRedistBase(dist, index, base, count));
      }
      const r = dist.rdRegions.find((x) => x.index === index);
      if (!r) return done(-ENOENT);
      return done(0, BigInt(index) | BigInt(r.base) | (BigInt(r.count) << KVM_VGIC_V3_RDIST_COUNT_SHIFT));
    }
    default:
      return done(-ENODEV);
  }
  const current = slot === 'dist' ? dist.distBase : dist.cpuBase;
  if (!write) return done(0, bigOrUndef(current));
  const ret = checkIorange(dist, current, value, align, BigInt(size));
  if (ret) return done(ret);
  if (slot === 'dist') dist.distBase = Number(value);
  else dist.cpuBase = Number(value);
  return done(0);
}

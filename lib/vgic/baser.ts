// The *BASER register helpers KVM shares between the redistributor (PROPBASER, PENDBASER) and the
// ITS (CBASER, BASER<n>): field sanitising and 32/64-bit access merging (vgic-mmio-v3.c:
// vgic_sanitise_shareability, vgic_sanitise_inner_cacheability, vgic_sanitise_outer_cacheability,
// vgic_sanitise_field; vgic-mmio.c: extract_bytes, update_64bit_reg).

import {
  GIC_BASER_CACHE_RaWb,
  GIC_BASER_CACHE_SameAsInner,
  GIC_BASER_CACHE_nC,
  GIC_BASER_CACHE_nCnB,
  GIC_BASER_InnerShareable,
  GIC_BASER_OuterShareable,
} from '../uapi/its.ts';

/** vgic_sanitise_field(): replace one field by fn(field). */
export function sanitiseField(reg: bigint, shift: bigint, mask: bigint, fn: (f: bigint) => bigint): bigint {
  return (reg & ~(mask << shift)) | ((fn((reg >> shift) & mask) & mask) << shift);
}

/** vgic_sanitise_shareability(): OuterShareable becomes InnerShareable. */
export const sanitiseShareability = (f: bigint): bigint => (f === GIC_BASER_OuterShareable ? GIC_BASER_InnerShareable : f);

/** vgic_sanitise_inner_cacheability(): nCnB and nC become RaWb. */
export const sanitiseInnerCacheability = (f: bigint): bigint =>
  f === GIC_BASER_CACHE_nCnB || f === GIC_BASER_CACHE_nC ? GIC_BASER_CACHE_RaWb : f;

/** vgic_sanitise_outer_cacheability(): only SameAsInner and nC survive. */
export const sanitiseOuterCacheability = (f: bigint): bigint =>
  f === GIC_BASER_CACHE_SameAsInner || f === GIC_BASER_CACHE_nC ? f : GIC_BASER_CACHE_SameAsInner;

/** The three sanitisers at a register's shareability, inner and outer cacheability positions. */
export function sanitiseBaserFields(reg: bigint, shareShift: bigint, innerShift: bigint, outerShift: bigint): bigint {
  reg = sanitiseField(reg, shareShift, 3n, sanitiseShareability);
  reg = sanitiseField(reg, innerShift, 7n, sanitiseInnerCacheability);
  return sanitiseField(reg, outerShift, 7n, sanitiseOuterCacheability);
}

/** extract_bytes(data, offset & 7, len) */
export function extractBytes(data: bigint, offset: number, len: number): bigint {
  return BigInt.asUintN(len * 8, data >> BigInt((offset & 7) * 8));
}

/** update_64bit_reg(reg, offset, len, val): replace the half (or the whole) that an access wrote. */
export function update64bitReg(reg: bigint, offset: number, len: number, val: bigint): bigint {
  const lower = BigInt((offset & 4) * 8);
  const mask = ((1n << BigInt(len * 8)) - 1n) << lower;
  return BigInt.asUintN(64, (reg & ~mask) | ((BigInt.asUintN(len * 8, val) << lower) & mask));
}

// Host-side helpers for GICv5 ports: user memory for pointer-taking attributes, struct
// kvm_vgic_v5_ist, and the GICv5 uapi constants (tools/testing/selftests/kvm/include/arm64/
// gic_v5.h and the IRS series' additions). Arguments follow lib/host's rules (args.ts): sizes,
// indices and addresses convert as C converts them; anything else is a TestAssertionFailure.

import { types } from 'node:util';
import * as GICV5 from '../uapi/gicv5.ts';
import { KVM_VGIC_V5_IST_STRUCT_SIZE } from '../uapi/gicv5.ts';
import { UserBytes as VgicUserBytes, UserPointer as VgicUserPointer } from '../vgic/user-buf.ts';
import { badArg, cNumber, cU32, cU64, cU64Number, isInstance, objectArg, readProps } from './args.ts';

export * from '../uapi/gicv5.ts';
export { GUARD_FILL } from '../vgic/user-buf.ts';
export { DEFAULT_GICV5_UAPI, GICV5_UAPIS, defaultImplementedPpis, type Gicv5HostFaults, type Gicv5HostOptions, type Gicv5Uapi } from '../vgic/v5/host.ts';

// --- the GICv5 encoders, with their arguments checked --------------------------------------------
// Each does only bitwise arithmetic on its arguments (ToInt32/ToUint32: C's conversion for an int
// or u32), so a number goes in unchanged; a bigint is first taken as a u32.

const u32In = (v: unknown, fn: string, param: string): number => (typeof v === 'number' ? v : cU32(v, fn, param));

/** FIELD_PREP(GICV5_HWIRQ_TYPE, type) | FIELD_PREP(GICV5_HWIRQ_ID, id) */
export function gicv5Hwirq(type: number, id: number): number {
  return GICV5.gicv5Hwirq(u32In(type, 'gicv5Hwirq', 'type'), u32In(id, 'gicv5Hwirq', 'id'));
}
export const gicv5HwirqType = (intid: number): number => GICV5.gicv5HwirqType(u32In(intid, 'gicv5HwirqType', 'intid'));
export const gicv5HwirqId = (intid: number): number => GICV5.gicv5HwirqId(u32In(intid, 'gicv5HwirqId', 'intid'));
export function ICC_PPI_PRIORITYR_EL1(n: number): number {
  return GICV5.ICC_PPI_PRIORITYR_EL1(u32In(n, 'ICC_PPI_PRIORITYR_EL1', 'n'));
}

// --- user memory ---------------------------------------------------------------------------------

/** The largest buffer (and guard) UserBytes maps (lib/vgic/user-buf.ts). */
const MAX_USER_BYTES = 0x4000000;
const MAX_GUARD = 0x10000;

/** `ptr + offset` as C computes it: a u64 offset (negative wraps), the sum modulo 2^64. */
function addOffset(addr: bigint, offset: unknown, fn: string): bigint {
  return BigInt.asUintN(64, addr + cU64(offset, fn, 'offset'));
}

/** A raw user address, as C's `(void *)addr` (lib/vgic/user-buf.ts), with checked arguments. */
export class UserPointer extends VgicUserPointer {
  constructor(addr: bigint) {
    super(cU64(addr, 'UserPointer', 'addr'));
  }

  /** Every lib/vgic UserPointer is one (UserBytes included). */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === UserPointer ? isInstance(v, VgicUserPointer) : Function.prototype[Symbol.hasInstance].call(this, v);
  }

  override set(v: bigint): void {
    super.set(cU64(v, 'UserPointer.set', 'v'));
  }

  override add(offset: number | bigint): UserPointer {
    return new UserPointer(addOffset(this.addr, offset, 'UserPointer.add'));
  }
}

/** Byte indices and counts of the host-side accessors: integers; a bigint converts exactly. */
function indexArg(v: unknown, fn: string, param: string): number {
  const n = cNumber(v, fn, param);
  return Number.isSafeInteger(n) ? n : badArg(fn, param, v, 'an integer index');
}

/** One mapped allocation (lib/vgic/user-buf.ts), its size, options and accessors checked. */
export class UserBytes extends VgicUserBytes {
  constructor(size: number, opts: { guard?: number; fill?: number } = {}) {
    super(...userBytesArgs('UserBytes', size, opts));
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === UserBytes ? isInstance(v, VgicUserBytes) : Function.prototype[Symbol.hasInstance].call(this, v);
  }

  override set(v: bigint): void {
    super.set(cU64(v, 'UserBytes.set', 'v'));
  }

  override add(offset: number | bigint): UserPointer {
    return new UserPointer(addOffset(this.addr, offset, 'UserBytes.add'));
  }

  override readAt(off: number, len: number): Uint8Array {
    return super.readAt(...span(this, 'UserBytes.readAt', off, len));
  }

  override writeAt(off: number, data: Uint8Array): void {
    if (!types.isUint8Array(data)) badArg('UserBytes.writeAt', 'data', data, 'a Uint8Array');
    super.writeAt(span(this, 'UserBytes.writeAt', off, data.length)[0], data);
  }

  override fill(value: number, off = 0, end = this.size): void {
    const fn = 'UserBytes.fill';
    super.fill(cU32(value, fn, 'value') & 0xff, cNumber(off, fn, 'off'), cNumber(end, fn, 'end'));
  }

  override u32(index: number): number {
    return super.u32(slot(this, 'UserBytes.u32', index, 4));
  }

  override setU32(index: number, v: number): void {
    super.setU32(slot(this, 'UserBytes.setU32', index, 4), cU32(v, 'UserBytes.setU32', 'v'));
  }

  override u64(index: number): bigint {
    return super.u64(slot(this, 'UserBytes.u64', index, 8));
  }

  override setU64(index: number, v: bigint): void {
    super.setU64(slot(this, 'UserBytes.setU64', index, 8), cU64(v, 'UserBytes.setU64', 'v'));
  }

}

/** An element index inside a buffer (the original's RangeError becomes a port bug). */
function slot(b: VgicUserBytes, fn: string, index: unknown, width: number): number {
  const i = indexArg(index, fn, 'index');
  return i >= 0 && (i + 1) * width <= b.size ? i : badArg(fn, 'index', index, `an index below ${Math.floor(b.size / width)}`);
}

/** Bytes [off, off+len) inside a buffer. */
function span(b: VgicUserBytes, fn: string, off: unknown, len: unknown): [number, number] {
  const o = indexArg(off, fn, 'off');
  const n = indexArg(len, fn, 'len');
  return o >= 0 && n >= 0 && o + n <= b.size ? [o, n] : badArg(fn, 'off', off, `an offset with ${n} bytes inside the ${b.size}-byte buffer`);
}

/** UserBytes' size and options: a size_t and small integers; a fill byte as C stores it (mod 256). */
function userBytesArgs(fn: string, size: unknown, opts: unknown): [number, { guard?: number; fill?: number }] {
  const n = cU64Number(size, fn, 'size');
  if (n > MAX_USER_BYTES) badArg(fn, 'size', size, `a byte count up to ${MAX_USER_BYTES} (the largest mapping modelled)`);
  if (opts === undefined || opts === null) return [n, {}];
  const o = readProps(objectArg(opts, fn, 'opts'), ['guard', 'fill'], fn, 'opts');
  const out: { guard?: number; fill?: number } = {};
  if (o.guard !== undefined) {
    const g = cU64Number(o.guard, fn, 'opts.guard');
    if (g > MAX_GUARD) badArg(fn, 'opts.guard', o.guard, `a guard size up to ${MAX_GUARD} bytes`);
    out.guard = g;
  }
  if (o.fill !== undefined) out.fill = cU32(o.fill, fn, 'opts.fill') & 0xff;
  return [n, out];
}

/** A mapped user buffer of `size` bytes with unmapped canary guards (see lib/vgic/user-buf.ts). */
export function userBytes(size: number, opts: { guard?: number; fill?: number } = {}): UserBytes {
  return new UserBytes(...userBytesArgs('userBytes', size, opts));
}

/** `u64 name[n]`: a user array the kernel may fill (e.g. USERSPACE_PPIS's __u64[2]). */
export function u64Array(n: number): UserBytes {
  const count = cU64Number(n, 'u64Array', 'n');
  if (count > MAX_USER_BYTES / 8) badArg('u64Array', 'n', n, `an element count up to ${MAX_USER_BYTES / 8}`);
  return new UserBytes(count * 8);
}

/** `(void *)addr`: a pointer nothing is mapped at (e.g. the selftests' `(void *)1`). */
export function userPtr(addr: number | bigint): UserPointer {
  return new UserPointer(cU64(addr, 'userPtr', 'addr'));
}

/** A pointer field of a struct: NULL, a UserPointer (UserBytes included), or a raw u64 address. */
function addrOf(p: unknown, fn: string, param: string): bigint {
  if (p === null || p === undefined) return 0n;
  if (isInstance(p, VgicUserPointer)) return p.addr;
  if (typeof p === 'number' || typeof p === 'bigint') return cU64(p, fn, param);
  return badArg(fn, param, p, 'a user pointer (userBytes(), userPtr()) or null');
}

/** vgic_v5_ist_attr(spi, spi_size, lpi, lpi_size): struct kvm_vgic_v5_ist in user memory. */
export function vgicV5IstAttr(spi: VgicUserPointer | null, spiSize: number | bigint, lpi: VgicUserPointer | null, lpiSize: number | bigint): UserBytes {
  const fn = 'vgicV5IstAttr';
  const fields = [addrOf(spi, fn, 'spi'), cU64(spiSize, fn, 'spiSize'), addrOf(lpi, fn, 'lpi'), cU64(lpiSize, fn, 'lpiSize')];
  const s = new UserBytes(KVM_VGIC_V5_IST_STRUCT_SIZE);
  fields.forEach((v, i) => s.setU64(i, v));
  return s;
}

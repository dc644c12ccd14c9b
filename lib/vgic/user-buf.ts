// The userspace buffer behind kvm_device_attr.addr, as get_user()/put_user() see it.

import { EFAULT } from '../uapi/errno.ts';

/** A value buffer of a fixed width; `null` in its place is a NULL pointer. */
export interface UserBuf {
  readonly width: 32 | 64;
  get(): bigint;
  set(v: bigint): void;
}

/** get_user(): EFAULT for NULL or for a buffer narrower than the read. */
export function getUser(buf: UserBuf | null, width: 32 | 64): { ret: number; value: bigint } {
  if (buf instanceof UserPointer) return getUserAt(buf, 0, width);
  if (!buf || buf.width < width) return { ret: -EFAULT, value: 0n };
  const v = buf.get();
  return { ret: 0, value: width === 32 ? v & 0xffffffffn : v };
}

/** put_user(): a 32-bit store into a 64-bit buffer replaces only the low half (little-endian). */
export function putUser(buf: UserBuf | null, width: 32 | 64, v: bigint): number {
  if (buf instanceof UserPointer) return putUserAt(buf, 0, width, v);
  if (!buf || buf.width < width) return -EFAULT;
  if (width === 32 && buf.width === 64) buf.set((buf.get() & ~0xffffffffn) | (v & 0xffffffffn));
  else buf.set(BigInt.asUintN(width, v));
  return 0;
}

// --- byte-addressed user memory ----------------------------------------------------------------------
//
// Some attributes take a pointer to more than one value (KVM_DEV_ARM_VGIC_USERSPACE_PPIS: __u64[2])
// or a pointer to a structure that holds further pointers (GICv5 IST save/restore: struct
// kvm_vgic_v5_ist). For those the model needs user memory as the kernel sees it: bytes at
// addresses, where copy_to_user()/put_user() to an address nobody mapped fails with EFAULT and a
// store to mapped memory succeeds whether or not the caller meant that memory to be written.
//
// UserBytes is one mapped allocation. Around it lie guard bytes filled with a canary: they are
// *not* mapped (an access reaching them faults), so a test can check that the model never wrote
// outside the allocation. Memory a caller wants the kernel to be able to overrun silently (the
// neighbours of a short buffer on a C stack) is simply part of a larger allocation: seed 000's
// one-entry SPI buffer is the first four bytes of a bigger UserBytes, and what the early IST
// contract writes past those four bytes shows up in the rest of it.

/** The canary in unmapped guard bytes. */
export const GUARD_FILL = 0xa5;
const PAGE = 0x1000n;

interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly ref: WeakRef<UserBytes>;
}

/** The process's mapped allocations, sorted by address (addresses only grow, never reused). */
const mappings: Mapping[] = [];
let nextAddr = 0x7f0000000000n;

function findMapping(addr: bigint, len: number): { buf: UserBytes; off: number } | null {
  if (len < 0 || addr < 0n) return null;
  let lo = 0;
  let hi = mappings.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = mappings[mid]!;
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else {
      if (addr + BigInt(len) > m.end) return null;
      const buf = m.ref.deref();
      return buf ? { buf, off: Number(addr - m.start) } : null;
    }
  }
  return null;
}

/** A raw user address, as C's `(void *)addr`: the kernel resolves it through the mappings. */
export class UserPointer implements UserBuf {
  readonly width = 64;
  constructor(readonly addr: bigint) {}
  /** The u64 at the address, 0 if unmapped (host-side convenience; the kernel uses getUser). */
  get(): bigint {
    const b = copyFromUser(this.addr, 8);
    return b ? readLe(b, 0, 8) : 0n;
  }
  set(v: bigint): void {
    copyToUser(this.addr, leBytes(v, 8));
  }
  /** `ptr + offset` */
  add(offset: number | bigint): UserPointer {
    return new UserPointer(this.addr + BigInt(offset));
  }
}

/** One mapped allocation of `size` bytes with unmapped canary guards on both sides. */
export class UserBytes extends UserPointer {
  readonly size: number;
  readonly guard: number;
  /** guard + size + guard bytes; the mapped part starts at `guard`. */
  private readonly store: Uint8Array;

  constructor(size: number, opts: { guard?: number; fill?: number } = {}) {
    if (!Number.isInteger(size) || size < 0 || size > 0x4000000) throw new RangeError(`UserBytes: bad size ${size}`);
    const guard = opts.guard ?? 16;
    if (!Number.isInteger(guard) || guard < 0 || guard > 0x10000) throw new RangeError(`UserBytes: bad guard ${guard}`);
    const start = nextAddr;
    super(start);
    nextAddr = ((start + BigInt(size + guard) + PAGE) / PAGE + 1n) * PAGE; // never adjacent
    this.size = size;
    this.guard = guard;
    this.store = new Uint8Array(guard + size + guard).fill(GUARD_FILL);
    this.store.fill(opts.fill ?? 0, guard, guard + size);
    pruneDead();
    mappings.push({ start, end: start + BigInt(size), ref: new WeakRef(this) });
  }

  /** Kernel side: bytes [off, off+len) of the mapped part, which the caller has bounds-checked. */
  readAt(off: number, len: number): Uint8Array {
    return this.store.slice(this.guard + off, this.guard + off + len);
  }
  writeAt(off: number, data: Uint8Array): void {
    this.store.set(data, this.guard + off);
  }

  /** A copy of the mapped bytes. */
  bytes(): Uint8Array {
    return this.store.slice(this.guard, this.guard + this.size);
  }
  /** Replace the mapped bytes from `off` (host side). */
  fill(value: number, off = 0, end = this.size): void {
    this.store.fill(value, this.guard + Math.max(0, off), this.guard + Math.min(end, this.size));
  }
  u32(index: number): number {
    return Number(readLe(this.checked(index * 4, 4), 0, 4));
  }
  setU32(index: number, v: number): void {
    this.writeAt(this.checkOff(index * 4, 4), leBytes(BigInt(v >>> 0), 4));
  }
  u64(index: number): bigint {
    return readLe(this.checked(index * 8, 8), 0, 8);
  }
  setU64(index: number, v: bigint): void {
    this.writeAt(this.checkOff(index * 8, 8), leBytes(v, 8));
  }
  /** True while every guard byte still holds the canary: nothing wrote outside the allocation. */
  guardsIntact(): boolean {
    for (let i = 0; i < this.guard; i++) {
      if (this.store[i] !== GUARD_FILL || this.store[this.guard + this.size + i] !== GUARD_FILL) return false;
    }
    return true;
  }

  private checkOff(off: number, len: number): number {
    if (!Number.isInteger(off) || off < 0 || off + len > this.size) throw new RangeError(`UserBytes: [${off}, +${len}) outside ${this.size} bytes`);
    return off;
  }
  private checked(off: number, len: number): Uint8Array {
    return this.readAt(this.checkOff(off, len), len);
  }
}

/** Drop mappings whose buffers were collected, so the table stays small in long fuzz runs. */
let sinceprune = 0;
function pruneDead(): void {
  if (++sinceprune < 1024) return;
  sinceprune = 0;
  let w = 0;
  for (const m of mappings) if (m.ref.deref()) mappings[w++] = m;
  mappings.length = w;
}

function readLe(b: Uint8Array, off: number, len: number): bigint {
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}
function leBytes(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = BigInt.asUintN(len * 8, v);
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** copy_from_user(): the bytes, or null (EFAULT) unless every byte is mapped. */
export function copyFromUser(addr: bigint, len: number): Uint8Array | null {
  const m = findMapping(addr, len);
  return m ? m.buf.readAt(m.off, len) : null;
}

/** copy_to_user(): false (EFAULT, nothing written) unless every byte is mapped. */
export function copyToUser(addr: bigint, data: Uint8Array): boolean {
  const m = findMapping(addr, data.length);
  if (!m) return false;
  m.buf.writeAt(m.off, data);
  return true;
}

/** attr->addr as a number: 0 for NULL, the address of a byte buffer, null for a value buffer. */
export function userAddress(buf: UserBuf | null): bigint | null {
  if (!buf) return 0n;
  return buf instanceof UserPointer ? buf.addr : null;
}

/**
 * get_user() at `uaddr + byteOffset`. A value buffer (U32Buf/U64Buf) is mapped memory of exactly
 * its width with nothing mapped after it.
 */
export function getUserAt(buf: UserBuf | null, byteOffset: number, width: 32 | 64): { ret: number; value: bigint } {
  if (buf instanceof UserPointer) {
    const b = copyFromUser(buf.addr + BigInt(byteOffset), width / 8);
    return b ? { ret: 0, value: readLe(b, 0, width / 8) } : { ret: -EFAULT, value: 0n };
  }
  if (byteOffset !== 0) return { ret: -EFAULT, value: 0n };
  return getUser(buf, width);
}

/** put_user() at `uaddr + byteOffset`; EFAULT writes nothing. */
export function putUserAt(buf: UserBuf | null, byteOffset: number, width: 32 | 64, v: bigint): number {
  if (buf instanceof UserPointer) return copyToUser(buf.addr + BigInt(byteOffset), leBytes(v, width / 8)) ? 0 : -EFAULT;
  if (byteOffset !== 0) return -EFAULT;
  return putUser(buf, width, v);
}

/** get_user()/put_user() of one u32 at a raw user address (IST entries). */
export function getUser32(addr: bigint): number | null {
  const b = copyFromUser(addr, 4);
  return b ? Number(readLe(b, 0, 4)) : null;
}
export function putUser32(addr: bigint, v: number): boolean {
  return copyToUser(addr, leBytes(BigInt(v >>> 0), 4));
}

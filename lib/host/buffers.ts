// Value buffers standing in for the `&val` pointers the C tests pass to device-attribute ioctls.

import { types } from 'node:util';
import type { UserBuf } from '../vgic/user-buf.ts';
import { badArg, isInstance, numberToU64 } from './args.ts';

/** The value of a buffer as 64 bits, or undefined when it holds no integer (1.5, '7', {}). */
function integral(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number' && Number.isInteger(v)) return numberToU64(v);
  return undefined;
}

/** The value a buffer's set() stores: the kernel passes bigints; a port's number converts as in C. */
function setValue(v: unknown, fn: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return numberToU64(v);
  return badArg(fn, 'v', v, 'a number or bigint');
}

export class U32Buf implements UserBuf {
  readonly width = 32;
  constructor(public value = 0) {}
  get(): bigint {
    return (integral(this.value) ?? 0n) & 0xffffffffn;
  }
  /** put_user() into the buffer (the kernel's side); a value C would store is stored as C stores it. */
  set(v: bigint): void {
    this.value = Number(BigInt.asUintN(32, setValue(v, 'U32Buf.set')));
  }
}

export class U64Buf implements UserBuf {
  readonly width = 64;
  constructor(public value = 0n) {}
  get(): bigint {
    return integral(this.value) ?? 0n;
  }
  set(v: bigint): void {
    this.value = BigInt.asUintN(64, setValue(v, 'U64Buf.set'));
  }
}

/** A u32 buffer: `const v = u32(); kvmDeviceAttrGet(fd, grp, attr, v); v.value`. */
export function u32(v: number | bigint = 0): U32Buf {
  if (typeof v === 'bigint') return new U32Buf(Number(BigInt.asUintN(32, v)));
  if (typeof v !== 'number') return badArg('u32', 'value', v, 'a number or bigint');
  return new U32Buf(v >>> 0);
}

/** A u64 buffer. A number converts as C converts it to uint64_t (1.5 -> 1; NaN, Infinity -> 0). */
export function u64(v: number | bigint = 0n): U64Buf {
  if (typeof v === 'bigint') return new U64Buf(BigInt.asUintN(64, v));
  if (typeof v !== 'number') return badArg('u64', 'value', v, 'a number or bigint');
  return new U64Buf(numberToU64(v));
}

/**
 * What the kernel can read and write through a buffer argument (kvm_device_attr.addr). NULL
 * (null or undefined) stays NULL. A U32Buf/U64Buf whose value is an integer is used as it is
 * (a number in a u64 buffer is the integer it holds); so is another module's UserBuf. Anything else (`{}`, a buffer holding 1.5
 * or a string, an object whose get() throws) is a pointer the kernel cannot read: a buffer of
 * width 0, narrower than any access, so get_user()/put_user() (lib/vgic/user-buf.ts) answer
 * EFAULT exactly where KVM would touch the pointer, after the group and attr checks that come first.
 */
export function kernelBuf(buf: unknown): UserBuf | null {
  if (buf === null || buf === undefined) return null;
  if (isInstance(buf, U32Buf) || isInstance(buf, U64Buf)) return integral(buf.value) !== undefined ? buf : UNREADABLE;
  // Another library's UserBuf (not a port's value) is trusted once it has the right shape.
  try {
    const b = buf as UserBuf;
    if ((b.width === 32 || b.width === 64) && typeof b.get === 'function' && typeof b.set === 'function') return b;
  } catch {
    // a Proxy whose traps throw
  }
  return UNREADABLE;
}

const UNREADABLE: UserBuf = {
  // Zero is not a UserBuf width: no access fits in it, which is the point.
  width: 0 as unknown as 32,
  get: () => 0n,
  set: () => {},
};

// --- structs the kernel copies in (copy_from_user) ---------------------------------------------------

/**
 * Whether the kernel could read v as a struct at all: a plain object (prototype Object.prototype
 * or null), not a Proxy; reading the prototype of anything else cannot throw.
 */
function isPlainObject(v: unknown): v is object {
  if (typeof v !== 'object' || v === null || types.isProxy(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The fields of a struct a port passes by pointer as an object (struct kvm_irq_routing, struct
 * kvm_msi), read once as the kernel's copy_from_user() would see them; null when the kernel could
 * not read it as that struct (EFAULT): not a plain object (a string, an array, a VM, a buffer), a
 * Proxy, or a getter that throws.
 */
export function userObject<K extends string>(v: unknown, keys: readonly K[]): Record<K, unknown> | null {
  if (!isPlainObject(v)) return null;
  const out = {} as Record<K, unknown>;
  try {
    for (const k of keys) out[k] = (v as Record<K, unknown>)[k];
  } catch {
    return null;
  }
  return out;
}

/**
 * One integer field of such a struct as 64 bits: a field the object leaves out is 0 (as a C
 * initializer leaves it); one holding no integer (1.5, '7', {}) is memory the kernel cannot read
 * as the field (null: EFAULT), as for a value buffer (kernelBuf).
 */
export function userInt(v: unknown): bigint | null {
  if (v === undefined) return 0n;
  return integral(v) ?? null;
}

/** userInt() of each named field of a struct, or null (EFAULT) if any cannot be read. */
export function userStruct<K extends string>(v: unknown, keys: readonly K[]): Record<K, bigint> | null {
  const o = userObject(v, keys);
  if (!o) return null;
  const out = {} as Record<K, bigint>;
  for (const k of keys) {
    const x = userInt(o[k]);
    if (x === null) return null;
    out[k] = x;
  }
  return out;
}

/**
 * userStruct() for a struct of __u32 fields, each as a number: the low 32 bits of the field,
 * or null (EFAULT) if any cannot be read. An integral number converts by ToUint32, which for an
 * integer is the same wrap to 32 bits as the bigint path; that path is taken only for the rest
 * (bigints, left-out fields, bad values), so a hot ioctl such as KVM_SIGNAL_MSI allocates no
 * bigint per call.
 */
export function userU32Struct<K extends string>(v: unknown, keys: readonly K[]): Record<K, number> | null {
  // userObject()'s rules (a plain object, each field read once, a throw is EFAULT), without
  // its intermediate copy.
  if (!isPlainObject(v)) return null;
  const out = {} as Record<K, number>;
  try {
    for (const k of keys) {
      const f = (v as Record<K, unknown>)[k];
      if (typeof f === 'number' && Number.isInteger(f)) {
        out[k] = f >>> 0;
        continue;
      }
      const x = userInt(f);
      if (x === null) return null;
      out[k] = Number(BigInt.asUintN(32, x));
    }
  } catch {
    return null;
  }
  return out;
}

/**
 * The bytes the kernel can read or write through a buffer argument of read()/write(): a
 * Uint8Array as it is, a value buffer as its little-endian bytes, anything else null (EFAULT).
 */
export function userBytesOf(buf: unknown): Uint8Array | null {
  if (types.isUint8Array(buf)) return buf;
  const b = kernelBuf(buf);
  if (!b || b === UNREADABLE) return null;
  const out = new Uint8Array(b.width / 8);
  const d = new DataView(out.buffer);
  try {
    if (b.width === 64) d.setBigUint64(0, BigInt.asUintN(64, b.get()), true);
    else d.setUint32(0, Number(BigInt.asUintN(32, b.get())), true);
  } catch {
    return null; // another module's UserBuf whose get() throws or returns no bigint
  }
  return out;
}

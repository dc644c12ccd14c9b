// Value buffers standing in for the `&val` pointers the C tests pass to device-attribute ioctls.

import type { UserBuf } from '../vgic/user-buf.ts';
import { badArg, isInstance, numberToU64 } from './args.ts';

/** The value of a buffer as 64 bits, or undefined when it holds no integer (1.5, '7', {}). */
function integral(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (typeof v === 'number' && Number.isInteger(v)) return numberToU64(v);
  return undefined;
}

export class U32Buf implements UserBuf {
  readonly width = 32;
  constructor(public value = 0) {}
  get(): bigint {
    return (integral(this.value) ?? 0n) & 0xffffffffn;
  }
  set(v: bigint): void {
    this.value = Number(v & 0xffffffffn);
  }
}

export class U64Buf implements UserBuf {
  readonly width = 64;
  constructor(public value = 0n) {}
  get(): bigint {
    return integral(this.value) ?? 0n;
  }
  set(v: bigint): void {
    this.value = BigInt.asUintN(64, v);
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

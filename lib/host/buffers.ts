// Value buffers standing in for the `&val` pointers the C tests pass to device-attribute ioctls.

import type { UserBuf } from '../vgic/user-buf.ts';

export class U32Buf implements UserBuf {
  readonly width = 32;
  constructor(public value = 0) {}
  get(): bigint {
    return BigInt(this.value >>> 0);
  }
  set(v: bigint): void {
    this.value = Number(v & 0xffffffffn);
  }
}

export class U64Buf implements UserBuf {
  readonly width = 64;
  constructor(public value = 0n) {}
  get(): bigint {
    return BigInt.asUintN(64, this.value);
  }
  set(v: bigint): void {
    this.value = BigInt.asUintN(64, v);
  }
}

/** A u32 buffer: `const v = u32(); kvmDeviceAttrGet(fd, grp, attr, v); v.value`. */
export function u32(v = 0): U32Buf {
  return new U32Buf(v >>> 0);
}

/** A u64 buffer. */
export function u64(v: number | bigint = 0n): U64Buf {
  return new U64Buf(BigInt.asUintN(64, BigInt(v)));
}

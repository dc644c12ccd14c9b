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
  if (!buf || buf.width < width) return { ret: -EFAULT, value: 0n };
  const v = buf.get();
  return { ret: 0, value: width === 32 ? v & 0xffffffffn : v };
}

/** put_user(): a 32-bit store into a 64-bit buffer replaces only the low half (little-endian). */
export function putUser(buf: UserBuf | null, width: 32 | 64, v: bigint): number {
  if (!buf || buf.width < width) return -EFAULT;
  if (width === 32 && buf.width === 64) buf.set((buf.get() & ~0xffffffffn) | (v & 0xffffffffn));
  else buf.set(BigInt.asUintN(width, v));
  return 0;
}

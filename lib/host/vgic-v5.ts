// Host-side helpers for GICv5 ports: user memory for pointer-taking attributes, struct
// kvm_vgic_v5_ist, and the GICv5 uapi constants (tools/testing/selftests/kvm/include/arm64/
// gic_v5.h and the IRS series' additions).

import { KVM_VGIC_V5_IST_STRUCT_SIZE } from '../uapi/gicv5.ts';
import { UserBytes, UserPointer } from '../vgic/user-buf.ts';

export * from '../uapi/gicv5.ts';
export { GUARD_FILL, UserBytes, UserPointer } from '../vgic/user-buf.ts';
export { DEFAULT_GICV5_UAPI, GICV5_UAPIS, defaultImplementedPpis, type Gicv5HostFaults, type Gicv5HostOptions, type Gicv5Uapi } from '../vgic/v5/host.ts';

/** A mapped user buffer of `size` bytes with unmapped canary guards (see lib/vgic/user-buf.ts). */
export function userBytes(size: number, opts: { guard?: number; fill?: number } = {}): UserBytes {
  return new UserBytes(size, opts);
}

/** `u64 name[n]`: a user array the kernel may fill (e.g. USERSPACE_PPIS's __u64[2]). */
export function u64Array(n: number): UserBytes {
  return new UserBytes(n * 8);
}

/** `(void *)addr`: a pointer nothing is mapped at (e.g. the selftests' `(void *)1`). */
export function userPtr(addr: number | bigint): UserPointer {
  return new UserPointer(BigInt(addr));
}

const addrOf = (p: UserPointer | null): bigint => (p ? p.addr : 0n);

/** vgic_v5_ist_attr(spi, spi_size, lpi, lpi_size): struct kvm_vgic_v5_ist in user memory. */
export function vgicV5IstAttr(spi: UserPointer | null, spiSize: number | bigint, lpi: UserPointer | null, lpiSize: number | bigint): UserBytes {
  const s = new UserBytes(KVM_VGIC_V5_IST_STRUCT_SIZE);
  s.setU64(0, addrOf(spi));
  s.setU64(1, BigInt(spiSize));
  s.setU64(2, addrOf(lpi));
  s.setU64(3, BigInt(lpiSize));
  return s;
}

// Guest RAM as KVM's vGIC reaches it: kvm_read_guest_lock / vgic_write_guest_lock fail with
// -EFAULT unless every page of the range is in a memslot; kvm_is_visible_gfn asks for one page
// (virt/kvm/kvm_main.c: kvm_read_guest, kvm_write_guest, kvm_is_visible_gfn). The ITS command
// queue, device/ITT/collection tables and the LPI property and pending tables live there.

import type { VgicDist } from './state.ts';

const PAGE = 0x1000;

/** Largest guest physical address the model represents exactly (addresses are numbers). */
const MAX_GPA = 2 ** 53;

/** True if every page that [gpa, gpa + len) touches is inside some memslot. */
export function guestRangeIsRam(dist: VgicDist, gpa: number, len: number): boolean {
  const mem = dist.vm.memory;
  if (!mem || !Number.isSafeInteger(gpa) || gpa < 0 || gpa + len > MAX_GPA) return false;
  // A range may span two adjacent memslots: check page by page, as __kvm_read_guest_page does.
  for (let a = gpa; a < gpa + len; ) {
    const n = Math.min(gpa + len - a, PAGE - (a % PAGE));
    if (!mem.isRam(a, n)) return false;
    a += n;
  }
  return true;
}

/** kvm_read_guest_lock(): the bytes, or null (the kernel's -EFAULT). */
export function readGuest(dist: VgicDist, gpa: number, len: number): Uint8Array | null {
  if (!guestRangeIsRam(dist, gpa, len)) return null;
  return dist.vm.memory!.readBytes(gpa, len);
}

/** vgic_write_guest_lock(): false (the kernel's -EFAULT) when a page is not RAM. */
export function writeGuest(dist: VgicDist, gpa: number, data: Uint8Array): boolean {
  if (!guestRangeIsRam(dist, gpa, data.length)) return false;
  dist.vm.memory!.writeBytes(gpa, data);
  return true;
}

/** Little-endian u64 load, or null. */
export function readGuestU64(dist: VgicDist, gpa: number): bigint | null {
  const b = readGuest(dist, gpa, 8);
  return b ? new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true) : null;
}

/** Little-endian u64 store; false on -EFAULT. */
export function writeGuestU64(dist: VgicDist, gpa: number, v: bigint): boolean {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return writeGuest(dist, gpa, b);
}

/** kvm_is_visible_gfn(gpa >> PAGE_SHIFT): the page holding gpa is in a memslot. */
export function isVisibleGfn(dist: VgicDist, gpa: number): boolean {
  if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa >= MAX_GPA) return false;
  return guestRangeIsRam(dist, gpa - (gpa % PAGE), 1);
}

/** A 64-bit guest physical address field as a number, or -1 when it cannot be represented. */
export function gpaOf(v: bigint): number {
  return v >= 0n && v < BigInt(MAX_GPA) ? Number(v) : -1;
}

// The ITS tables in guest RAM, as far as KVM touches them while running commands: whether an ID
// fits the device or collection table that GITS_BASER<n> describes (flat or two-level), whether
// an EventID fits a device's ITT, and the zeroed entries MAPD(V=0) and DISCARD write back
// (vgic-its.c: vgic_its_check_id, vgic_its_check_event_id, vgic_its_write_entry_lock).

import { EFAULT } from '../../uapi/errno.ts';
import { SZ_64K } from '../../uapi/gic.ts';
import { GITS_BASER_INDIRECT, GITS_BASER_TYPE_COLLECTION, GITS_BASER_TYPE_DEVICE, gitsBaserEntrySize, gitsBaserNrPages, gitsBaserType } from '../../uapi/its.ts';
import { gpaOf, isVisibleGfn, readGuestU64, writeGuestU64 } from '../guest-mem.ts';
import { ABI_0_ESZ, type ItsDevice, VITS_MAX_DEVID, type VgicIts } from './state.ts';

/** GITS_BASER_ADDR_48_to_52(): PA bits [47:16], with [51:48] taken from BASER bits [15:12]. */
export function baserAddress(baser: bigint): bigint {
  return (baser & 0x0000ffffffff0000n) | (((baser >> 12n) & 0xfn) << 48n);
}

/**
 * vgic_its_check_id(): the guest address of `id`'s entry in the table `baser` describes, or -1
 * when the ID is out of range for the table type, beyond the table, behind an invalid level-1
 * entry, or not in guest RAM. BASER.Valid is not consulted (KVM does not either).
 */
export function checkId(its: VgicIts, baser: bigint, id: number): number {
  const l1TblSize = gitsBaserNrPages(baser) * SZ_64K;
  const base = gpaOf(baserAddress(baser));
  const esz = gitsBaserEntrySize(baser);
  switch (gitsBaserType(baser)) {
    case GITS_BASER_TYPE_DEVICE:
      if (id > VITS_MAX_DEVID) return -1;
      break;
    case GITS_BASER_TYPE_COLLECTION:
      // GITS_TYPER.CIL == 0: 16-bit collection IDs
      if (id >= 2 ** 16) return -1;
      break;
    default:
      return -1;
  }
  if (base < 0) return -1;
  if (!(baser & GITS_BASER_INDIRECT)) {
    if (id >= Math.floor(l1TblSize / esz)) return -1;
    const addr = base + id * esz;
    return isVisibleGfn(its.dist, addr) ? addr : -1;
  }
  // Two-level table: one 64-bit level-1 entry per 64 KiB level-2 page.
  const perPage = Math.floor(SZ_64K / esz);
  const index = Math.floor(id / perPage);
  if (index >= l1TblSize / 8) return -1;
  const l1 = readGuestU64(its.dist, base + index * 8);
  if (l1 === null || !(l1 & (1n << 63n))) return -1;
  const l2 = gpaOf(l1 & 0x000fffffffff0000n); // GENMASK_ULL(51, 16)
  const addr = l2 + (id % perPage) * esz;
  return isVisibleGfn(its.dist, addr) ? addr : -1;
}

/** vgic_its_check_event_id(): below 2^num_eventid_bits and its ITT entry in guest RAM. */
export function checkEventId(its: VgicIts, device: ItsDevice, eventId: number): boolean {
  if (eventId >= 2 ** device.numEventIdBits) return false;
  return isVisibleGfn(its.dist, iteAddress(device, eventId));
}

/** The ITT entry address of an event (device->itt_addr + event_id * ite_esz). */
export function iteAddress(device: ItsDevice, eventId: number): number {
  return device.ittAddr + eventId * ABI_0_ESZ;
}

/** vgic_its_write_entry_lock(gpa, 0): 0, or -EFAULT when the entry is not in guest RAM. */
export function clearEntry(its: VgicIts, gpa: number): number {
  return writeGuestU64(its.dist, gpa, 0n) ? 0 : -EFAULT;
}

// Guest physical memory: KVM_SET_USER_MEMORY_REGION memslots backed by sparse 4 KiB pages.
// A guest access that hits a memslot is a plain memory access; anything else is MMIO, which
// KVM offers to its in-kernel devices (the vGIC frames) and otherwise exits to userspace
// (virt/kvm/kvm_main.c: __kvm_set_memory_region; arch/arm64/kvm/mmu.c: kvm_handle_guest_abort).

import { EEXIST, EINVAL } from '../uapi/errno.ts';

export const GUEST_PAGE_SIZE = 0x1000;
/** KVM_USER_MEM_SLOTS on arm64 (KVM_MEM_SLOTS_NUM - KVM_PRIVATE_MEM_SLOTS). */
export const KVM_USER_MEM_SLOTS = 32764;

interface MemSlot {
  readonly slot: number;
  readonly gpa: number;
  readonly size: number;
}

export class GuestMemory {
  private readonly slots: MemSlot[] = [];
  /** Page frame number -> bytes; pages appear on first write and read as zero before. */
  private readonly pages = new Map<number, Uint8Array>();

  /**
   * KVM_SET_USER_MEMORY_REGION: EINVAL for a bad slot id, unaligned base or size, or a range
   * that wraps; EEXIST for an overlap with another slot; size 0 deletes the slot.
   */
  setRegion(slot: number, gpa: number, size: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= KVM_USER_MEM_SLOTS) return -EINVAL;
    if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(size) || gpa < 0 || size < 0) return -EINVAL;
    if (gpa % GUEST_PAGE_SIZE || size % GUEST_PAGE_SIZE) return -EINVAL;
    if (gpa + size > Number.MAX_SAFE_INTEGER) return -EINVAL;
    const existing = this.slots.findIndex((s) => s.slot === slot);
    if (size === 0) {
      if (existing >= 0) this.dropPages(this.slots.splice(existing, 1)[0]!);
      return 0;
    }
    // Moving or resizing an existing slot is not modelled: KVM only allows flag changes in place.
    if (existing >= 0) return -EINVAL;
    if (this.slots.some((s) => gpa < s.gpa + s.size && s.gpa < gpa + size)) return -EEXIST;
    this.slots.push({ slot, gpa, size });
    return 0;
  }

  /** True if [gpa, gpa + len) lies inside one memslot. */
  isRam(gpa: number, len: number): boolean {
    for (const s of this.slots) if (gpa >= s.gpa && gpa + len <= s.gpa + s.size) return true;
    return false;
  }

  readBytes(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; ) {
      const pfn = Math.floor((gpa + i) / GUEST_PAGE_SIZE);
      const off = (gpa + i) % GUEST_PAGE_SIZE;
      const n = Math.min(len - i, GUEST_PAGE_SIZE - off);
      const page = this.pages.get(pfn);
      if (page) out.set(page.subarray(off, off + n), i);
      i += n;
    }
    return out;
  }

  writeBytes(gpa: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; ) {
      const pfn = Math.floor((gpa + i) / GUEST_PAGE_SIZE);
      const off = (gpa + i) % GUEST_PAGE_SIZE;
      const n = Math.min(data.length - i, GUEST_PAGE_SIZE - off);
      let page = this.pages.get(pfn);
      if (!page) {
        page = new Uint8Array(GUEST_PAGE_SIZE);
        this.pages.set(pfn, page);
      }
      page.set(data.subarray(i, i + n), off);
      i += n;
    }
  }

  /** Little-endian load of 1, 2, 4 (number) or 8 (bigint) bytes. */
  read(gpa: number, len: number): number | bigint {
    const b = this.readBytes(gpa, len);
    const view = new DataView(b.buffer);
    switch (len) {
      case 1:
        return view.getUint8(0);
      case 2:
        return view.getUint16(0, true);
      case 4:
        return view.getUint32(0, true);
      default:
        return view.getBigUint64(0, true);
    }
  }

  /** Little-endian store of 1, 2, 4 or 8 bytes. */
  write(gpa: number, len: number, val: number | bigint): void {
    const b = new Uint8Array(len);
    const view = new DataView(b.buffer);
    switch (len) {
      case 1:
        view.setUint8(0, Number(val) & 0xff);
        break;
      case 2:
        view.setUint16(0, Number(val) & 0xffff, true);
        break;
      case 4:
        view.setUint32(0, Number(BigInt.asUintN(32, BigInt(val))), true);
        break;
      default:
        view.setBigUint64(0, BigInt.asUintN(64, BigInt(val)), true);
    }
    this.writeBytes(gpa, b);
  }

  private dropPages(s: MemSlot): void {
    for (let pfn = s.gpa / GUEST_PAGE_SIZE; pfn < (s.gpa + s.size) / GUEST_PAGE_SIZE; pfn++) this.pages.delete(pfn);
  }
}

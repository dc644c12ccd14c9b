// The host side of the ITS for ports: vgic_its_setup() (lib/arm64/vgic.c), KVM_SIGNAL_MSI
// (`__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi)`), and the guest-physical page allocator the ITS
// selftests carve their tables from (kvm_util.c: vm_phy_pages_alloc, vm_compute_max_gfn).

import { vmSignalMsi } from '../kvm/msi.ts';
import type { KvmVm } from '../kvm/vm.ts';
import { GITS_BASE_GPA } from '../uapi/gic.ts';
import { GITS_TRANSLATER, type KvmMsi } from '../uapi/its.ts';
import { KVM_MSI_VALID_DEVID } from '../uapi/kvm-irq.ts';
import {
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_TYPE_ARM_VGIC_ITS,
  KVM_VGIC_ITS_ADDR_TYPE,
} from '../uapi/kvm.ts';
import { GUEST_PAGE_SIZE } from '../kvm/memory.ts';
import { u64 } from './buffers.ts';
import { kvmCreateDevice, kvmDeviceAttrSet } from './kvm-util.ts';
import { setErrno, testFail } from './test-util.ts';

/** vgic_its_setup(vm): an ITS at GITS_BASE_GPA, initialised; its fd. (virt_map is implicit.) */
export function vgicItsSetup(vm: KvmVm): number {
  const itsFd = kvmCreateDevice(vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
  kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, u64(GITS_BASE_GPA));
  kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return itsFd;
}

/** A struct kvm_msi for a doorbell address, DeviceID and EventID, with KVM_MSI_VALID_DEVID. */
export function kvmMsi(doorbell: number | bigint, devid: number, data: number, flags = KVM_MSI_VALID_DEVID): KvmMsi {
  const db = typeof doorbell === 'bigint' ? BigInt.asUintN(64, doorbell) : doorbell;
  const hi = typeof db === 'bigint' ? Number(db >> 32n) : Math.floor(db / 2 ** 32);
  const lo = typeof db === 'bigint' ? Number(db & 0xffffffffn) : db % 2 ** 32;
  return { address_lo: lo >>> 0, address_hi: hi >>> 0, data: data >>> 0, flags: flags >>> 0, devid: devid >>> 0 };
}

/** The doorbell the selftests use: GITS_BASE_GPA + GITS_TRANSLATER. */
export const ITS_DOORBELL_GPA = GITS_BASE_GPA + GITS_TRANSLATER;

/**
 * `__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi)`: 1 delivered, 0 blocked by the guest, or -errno (and
 * errno set). `null` is a NULL pointer (EFAULT).
 */
export function __kvmSignalMsi(vm: KvmVm, msi: KvmMsi | null): number {
  const r = vmSignalMsi(vm, msi);
  if (r < 0) setErrno(-r);
  return r;
}

/** KVM_SIGNAL_MSI, asserting the ioctl did not fail (1 or 0 are both returned). */
export function kvmSignalMsi(vm: KvmVm, msi: KvmMsi): number {
  const r = __kvmSignalMsi(vm, msi);
  // A library assertion, not a check of the test: it is not counted (testAssert would be).
  if (r < 0) testFail('KVM_SIGNAL_MSI failed, rc: %d', r);
  return r;
}

// --- guest physical pages ---------------------------------------------------------------------------

/** vm_compute_max_gfn(vm): the last guest frame number the IPA size allows. */
export function vmComputeMaxGfn(vm: KvmVm): number {
  return 2 ** vm.ipaBits / GUEST_PAGE_SIZE - 1;
}

/** vm_calc_num_guest_pages(mode, size) for the 4 KiB guest page size. */
export function vmCalcNumGuestPages(size: number): number {
  return Math.ceil(size / GUEST_PAGE_SIZE);
}

const nextFree = new WeakMap<KvmVm, Map<number, number>>();

/**
 * vm_phy_pages_alloc(vm, num, paddr_min, memslot): the lowest `num` free pages at or above
 * paddr_min in the memslot (pages are never freed, so a bump pointer per slot is enough).
 */
export function vmPhyPagesAlloc(vm: KvmVm, num: number, paddrMin: number, memslot: number): number {
  let slots = nextFree.get(vm);
  if (!slots) nextFree.set(vm, (slots = new Map()));
  if (!(num > 0)) testFail('Must allocate at least one page');
  if (paddrMin % GUEST_PAGE_SIZE) testFail('Min physical address not divisible by page size.\n  min_gpa: 0x%lx page_size: 0x%x', paddrMin, GUEST_PAGE_SIZE);
  const start = Math.max(paddrMin, slots.get(memslot) ?? 0);
  const size = num * GUEST_PAGE_SIZE;
  if (!vm.memory.isRam(start, size)) {
    testFail('No guest physical pages available, paddr_min: 0x%lx num_pages: %lu memslot: %u', paddrMin, num, memslot);
  }
  slots.set(memslot, start + size);
  return start;
}

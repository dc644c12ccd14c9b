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
import { cU32, cU64, cU64Number, vmArg } from './args.ts';
import { u64, userU32Struct } from './buffers.ts';
import { kvmCreateDevice, kvmDeviceAttrSet } from './kvm-util.ts';
import { raw } from './ioctl-ret.ts';
import { testFail } from './test-util.ts';

/** vgic_its_setup(vm): an ITS at GITS_BASE_GPA, initialised; its fd. (virt_map is implicit.) */
export function vgicItsSetup(vm: KvmVm): number {
  const itsFd = kvmCreateDevice(vmArg(vm, 'vgicItsSetup'), KVM_DEV_TYPE_ARM_VGIC_ITS);
  kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, u64(GITS_BASE_GPA));
  kvmDeviceAttrSet(itsFd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, null);
  return itsFd;
}

/** A struct kvm_msi for a doorbell address, DeviceID and EventID, with KVM_MSI_VALID_DEVID. */
export function kvmMsi(doorbell: number | bigint, devid: number, data: number, flags = KVM_MSI_VALID_DEVID): KvmMsi {
  const fn = 'kvmMsi';
  // The doorbell is a u64 split into address_lo/hi; the rest are __u32 fields.
  const db = cU64(doorbell, fn, 'doorbell');
  return { address_lo: Number(db & 0xffffffffn), address_hi: Number(db >> 32n), data: cU32(data, fn, 'data'), flags: cU32(flags, fn, 'flags'), devid: cU32(devid, fn, 'devid') };
}

/** The doorbell the selftests use: GITS_BASE_GPA + GITS_TRANSLATER. */
export const ITS_DOORBELL_GPA = GITS_BASE_GPA + GITS_TRANSLATER;

/**
 * `__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi)`: 1 delivered, 0 blocked by the guest, or -errno (and
 * errno set). `null` is a NULL pointer (EFAULT).
 */
export function __kvmSignalMsi(vm: KvmVm, msi: KvmMsi | null): number {
  return signalMsi(vmArg(vm, '__kvmSignalMsi'), msi);
}

/**
 * struct kvm_msi as copy_from_user() reads it: integer fields (one left out is 0), else the
 * pointer is one the kernel cannot read, EFAULT where it reads it (vmSignalMsi, after EIO).
 */
const KVM_MSI_FIELDS = ['address_lo', 'address_hi', 'data', 'flags', 'devid'] as const;

function signalMsi(vm: KvmVm, msi: unknown): number {
  return raw(vmSignalMsi(vm, msi === null || msi === undefined ? null : userU32Struct(msi, KVM_MSI_FIELDS)));
}

/** KVM_SIGNAL_MSI, asserting the ioctl did not fail (1 or 0 are both returned). */
export function kvmSignalMsi(vm: KvmVm, msi: KvmMsi): number {
  const r = signalMsi(vmArg(vm, 'kvmSignalMsi'), msi);
  // A library assertion, not a check of the test: it is not counted (testAssert would be).
  if (r < 0) testFail('KVM_SIGNAL_MSI failed, rc: %d', r);
  return r;
}

// --- guest physical pages ---------------------------------------------------------------------------

/** vm_compute_max_gfn(vm): the last guest frame number the IPA size allows. */
export function vmComputeMaxGfn(vm: KvmVm): number {
  return 2 ** vmArg(vm, 'vmComputeMaxGfn').ipaBits / GUEST_PAGE_SIZE - 1;
}

/** vm_calc_num_guest_pages(mode, size) for the 4 KiB guest page size (size is a size_t). */
export function vmCalcNumGuestPages(size: number): number {
  return Math.ceil(cU64Number(size, 'vmCalcNumGuestPages', 'size') / GUEST_PAGE_SIZE);
}

const nextFree = new WeakMap<KvmVm, Map<number, number>>();

/**
 * vm_phy_pages_alloc(vm, num, paddr_min, memslot): the lowest `num` free pages at or above
 * paddr_min in the memslot (pages are never freed, so a bump pointer per slot is enough).
 */
export function vmPhyPagesAlloc(vm: KvmVm, num: number, paddrMin: number, memslot: number): number {
  const fn = 'vmPhyPagesAlloc';
  vmArg(vm, fn);
  // size_t num, gpa_t paddr_min, u32 memslot
  num = cU64Number(num, fn, 'num');
  paddrMin = cU64Number(paddrMin, fn, 'paddrMin');
  memslot = cU32(memslot, fn, 'memslot');
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

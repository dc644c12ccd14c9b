// KVM_SET_GSI_ROUTING and the GSI -> interrupt routing table (virt/kvm/irqchip.c:
// kvm_set_irq_routing, setup_routing_entry, kvm_set_irq, kvm_irq_map_gsi; virt/kvm/kvm_main.c:
// the ioctl's own checks; arch/arm64/kvm/vgic/vgic-irqfd.c: kvm_set_routing_entry,
// vgic_irqfd_set_irq, kvm_set_msi, kvm_vgic_setup_default_irq_routing).
//
// Routing entry types are a table (ROUTE_TYPES, kvm_set_routing_entry's switch): each type turns
// a userspace entry into a kernel entry with a `set` function. IRQCHIP entries route to the vGIC
// (pin p -> SPI 32 + p). MSI entries are accepted as KVM accepts them (only KVM_MSI_VALID_DEVID
// may be set; no ITS is needed to set the table) and injected by kvm_set_msi(): -ENODEV while the
// VM has no ITS, else the vITS translates (lib/vgic/its/translate.ts: vgic_its_inject_msi, and
// vgic_its_inject_cached_translation for irqfd's atomic fast path).

import { EFAULT, EINVAL, ENODEV } from '../uapi/errno.ts';
import {
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_MAX_IRQ_ROUTES,
  KVM_MSI_VALID_DEVID,
  KVM_NR_IRQCHIPS,
} from '../uapi/kvm-irq.ts';
import type { KvmMsi } from '../uapi/its.ts';
import { KVM_IRQCHIP_NUM_PINS, VGIC_NR_PRIVATE_IRQS } from '../uapi/kvm.ts';
import { vgicInjectIrq, vgicLazyInit } from '../vgic/init.ts';
import { injectCachedTranslation, vgicItsInjectMsi } from '../vgic/its/translate.ts';
import type { KvmVm } from './vm.ts';

/** struct kvm_irq_routing_irqchip */
export interface KvmIrqRoutingIrqchip {
  irqchip: number;
  pin: number;
}

/** struct kvm_irq_routing_msi (and struct kvm_msi's payload) */
export interface KvmIrqRoutingMsi {
  address_lo: number;
  address_hi: number;
  data: number;
  devid: number;
}

/** struct kvm_irq_routing_entry: `u` is the union; the member named by `type` is read (absent = zeros). */
export interface KvmIrqRoutingEntry {
  gsi: number;
  type: number;
  flags: number;
  u: { irqchip?: KvmIrqRoutingIrqchip; msi?: KvmIrqRoutingMsi };
}

/** struct kvm_irq_routing: `nr` entries are read from `entries`. */
export interface KvmIrqRouting {
  nr: number;
  flags: number;
  entries: KvmIrqRoutingEntry[];
}

export type { KvmMsi };

/** struct kvm_kernel_irq_routing_entry: what a GSI resolves to, and how to raise it. */
export interface KernelRoute {
  readonly gsi: number;
  readonly type: number;
  readonly irqchip?: KvmIrqRoutingIrqchip;
  readonly msi?: KvmMsi;
  /** e->set(): 0 or a positive count when delivered, negative when not. */
  set(vm: KvmVm, level: boolean): number;
}

/** struct kvm_irq_routing_table */
interface RoutingTable {
  /** map[gsi] */
  readonly map: Map<number, KernelRoute[]>;
  /** chip[irqchip][pin] = gsi (-1: none) */
  readonly chip: Int32Array;
}

interface VmRouting {
  table: RoutingTable;
  /** vgic_init() installs the default table (kvm_vgic_setup_default_irq_routing); applied on first look after it. */
  defaultApplied: boolean;
  /** Called after every table change (kvm_irq_routing_update: irqfds re-resolve their GSI). */
  onUpdate: Array<() => void>;
}

const routing = new WeakMap<KvmVm, VmRouting>();

function emptyTable(): RoutingTable {
  return { map: new Map(), chip: new Int32Array(KVM_NR_IRQCHIPS * KVM_IRQCHIP_NUM_PINS).fill(-1) };
}

function vmRouting(vm: KvmVm): VmRouting {
  let r = routing.get(vm);
  if (!r) {
    r = { table: emptyTable(), defaultApplied: false, onUpdate: [] };
    routing.set(vm, r);
  }
  if (!r.defaultApplied && vm.dist.initialized) {
    r.defaultApplied = true;
    // kvm_vgic_setup_default_irq_routing(): gsi i -> irqchip 0, pin i, for every SPI.
    const entries: KvmIrqRoutingEntry[] = [];
    for (let i = 0; i < vm.dist.nrSpis; i++) entries.push({ gsi: i, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, u: { irqchip: { irqchip: 0, pin: i } } });
    const t = buildTable(vm, entries);
    if (typeof t !== 'number') install(r, t);
  }
  return r;
}

function install(r: VmRouting, t: RoutingTable): void {
  r.table = t;
  for (const fn of r.onUpdate) fn();
}

/** Register a callback run after each routing change (irqfd.ts: kvm_irq_routing_update). */
export function onRoutingUpdate(vm: KvmVm, fn: () => void): void {
  vmRouting(vm).onUpdate.push(fn);
}

// --- injection -----------------------------------------------------------------------------------

/** vgic_irqfd_set_irq(): pin -> SPI; EINVAL beyond the VM's SPIs (vgic_valid_spi), then lazy init and inject. */
export function vgicIrqfdSetIrq(vm: KvmVm, pin: number, level: boolean): number {
  const spi = pin + VGIC_NR_PRIVATE_IRQS;
  const dist = vm.dist;
  if (!(spi >= VGIC_NR_PRIVATE_IRQS && spi < dist.nrSpis + VGIC_NR_PRIVATE_IRQS)) return -EINVAL;
  const ret = vgicLazyInit(dist); // 7.2 here; 6.x inside kvm_vgic_inject_irq (same order)
  if (ret) return ret;
  return vgicInjectIrq(dist, null, spi, level);
}

export const EWOULDBLOCK = 11; // == EAGAIN

/**
 * kvm_set_msi() (vgic-irqfd.c), the MSI route's set() and KVM_SIGNAL_MSI's injection: no ITS ->
 * -ENODEV; level 0 -> -1 (nothing injected); else vgic_its_inject_msi(): 1 delivered (a cached
 * translation first, whatever the flags say), 0 blocked by the guest's ITS mappings, -errno
 * (EINVAL without KVM_MSI_VALID_DEVID or for a doorbell outside every ITS, EBUSY with the ITS or
 * the target's LPIs off).
 */
export function kvmSetMsi(vm: KvmVm, msi: KvmMsi, level: boolean): number {
  if (!vm.dist.hasIts) return -ENODEV;
  if (!level) return -1;
  return vgicItsInjectMsi(vm.dist, msi);
}

/** kvm_arch_set_irq_inatomic(): the irqfd fast path; -EWOULDBLOCK defers to kvm_set_irq(). */
export function archSetIrqInatomic(vm: KvmVm, e: KernelRoute | null, level: boolean): number {
  if (!level) return -EWOULDBLOCK;
  if (e?.type === KVM_IRQ_ROUTING_MSI) {
    if (!vm.dist.hasIts) return -EWOULDBLOCK;
    // vgic_its_inject_cached_translation(): 0 on a cache hit, else -EWOULDBLOCK (irqfd_inject
    // then takes the kvm_set_irq() path, which translates and fills the cache).
    return injectCachedTranslation(vm.dist, e.msi!) ? 0 : -EWOULDBLOCK;
  }
  if (e?.type === KVM_IRQ_ROUTING_IRQCHIP) {
    // "Injecting SPIs is always possible in atomic context as long as the damn vgic is initialized."
    if (!vm.dist.initialized) return -EWOULDBLOCK;
    return vgicIrqfdSetIrq(vm, e.irqchip!.pin, true);
  }
  return -EWOULDBLOCK;
}

/** kvm_irq_map_gsi(): the kernel entries of a GSI (none beyond the table). */
export function kvmIrqMapGsi(vm: KvmVm, gsi: number): readonly KernelRoute[] {
  return vmRouting(vm).table.map.get(gsi) ?? [];
}

/** The GSI routed to an irqchip pin, or -1 (kvm_irq_map_chip_gsi). */
export function kvmIrqMapChipGsi(vm: KvmVm, irqchip: number, pin: number): number {
  if (irqchip < 0 || irqchip >= KVM_NR_IRQCHIPS || pin < 0 || pin >= KVM_IRQCHIP_NUM_PINS) return -1;
  return vmRouting(vm).table.chip[irqchip * KVM_IRQCHIP_NUM_PINS + pin]!;
}

/** kvm_set_irq(): raise or lower every entry of a GSI; -1 if none delivered, else the sum. */
export function kvmSetIrq(vm: KvmVm, gsi: number, level: boolean): number {
  let ret = -1;
  const entries = kvmIrqMapGsi(vm, gsi);
  for (let i = entries.length - 1; i >= 0; i--) {
    const r = entries[i]!.set(vm, level);
    if (r < 0) continue;
    ret = r + (ret < 0 ? 0 : ret);
  }
  return ret;
}

// --- KVM_SET_GSI_ROUTING -------------------------------------------------------------------------

/**
 * kvm_set_routing_entry() per type: the kernel entry, or -EINVAL. Add a type by adding a row.
 * IRQCHIP: pin < KVM_IRQCHIP_NUM_PINS (988) and irqchip < KVM_NR_IRQCHIPS (1). MSI: fields copied,
 * flags become the MSI's flags.
 */
const ROUTE_TYPES = new Map<number, (ue: KvmIrqRoutingEntry, gsi: number) => KernelRoute | number>([
  [
    KVM_IRQ_ROUTING_IRQCHIP,
    (ue, gsi) => {
      const irqchip = (ue.u.irqchip?.irqchip ?? 0) >>> 0;
      const pin = (ue.u.irqchip?.pin ?? 0) >>> 0;
      if (pin >= KVM_IRQCHIP_NUM_PINS || irqchip >= KVM_NR_IRQCHIPS) return -EINVAL;
      return { gsi, type: KVM_IRQ_ROUTING_IRQCHIP, irqchip: { irqchip, pin }, set: (vm, level) => vgicIrqfdSetIrq(vm, pin, level) };
    },
  ],
  [
    KVM_IRQ_ROUTING_MSI,
    (ue, gsi) => {
      const m = ue.u.msi;
      const msi: KvmMsi = {
        address_lo: (m?.address_lo ?? 0) >>> 0,
        address_hi: (m?.address_hi ?? 0) >>> 0,
        data: (m?.data ?? 0) >>> 0,
        devid: (m?.devid ?? 0) >>> 0,
        flags: ue.flags >>> 0,
      };
      return { gsi, type: KVM_IRQ_ROUTING_MSI, msi, set: (vm, level) => kvmSetMsi(vm, msi, level) };
    },
  ],
]);

/** kvm_set_irq_routing() without the install: the new table, or -errno (the old one stays). */
function buildTable(_vm: KvmVm, ues: readonly KvmIrqRoutingEntry[]): RoutingTable | number {
  for (const ue of ues) if (ue.gsi >>> 0 >= KVM_MAX_IRQ_ROUTES) return -EINVAL;
  const t = emptyTable();
  for (const ue of ues) {
    const type = ue.type >>> 0;
    const flags = ue.flags >>> 0;
    // Only MSI entries may carry a flag, and only KVM_MSI_VALID_DEVID.
    if (type === KVM_IRQ_ROUTING_MSI ? flags & ~KVM_MSI_VALID_DEVID : flags) return -EINVAL;
    const gsi = ue.gsi >>> 0;
    // setup_routing_entry(): a GSI maps to an irqchip at most once, and a non-irqchip GSI to one thing only.
    const existing = t.map.get(gsi) ?? [];
    for (const ei of existing) {
      if (ei.type !== KVM_IRQ_ROUTING_IRQCHIP || type !== KVM_IRQ_ROUTING_IRQCHIP) return -EINVAL;
      if ((ue.u.irqchip?.irqchip ?? 0) >>> 0 === ei.irqchip!.irqchip) return -EINVAL;
    }
    const make = ROUTE_TYPES.get(type);
    if (!make) return -EINVAL;
    const e = make(ue, gsi);
    if (typeof e === 'number') return e;
    if (e.irqchip) t.chip[e.irqchip.irqchip * KVM_IRQCHIP_NUM_PINS + e.irqchip.pin] = gsi;
    // hlist_add_head(): the newest entry first.
    t.map.set(gsi, [e, ...existing]);
  }
  return t;
}

/**
 * KVM_SET_GSI_ROUTING (kvm_vm_ioctl): more than KVM_MAX_IRQ_ROUTES entries or any flag -> EINVAL,
 * entries missing from the buffer -> EFAULT, then kvm_set_irq_routing()'s per-entry checks. On
 * success the whole table is replaced and every irqfd re-resolves its GSI; on failure nothing
 * changes.
 */
export function kvmSetGsiRouting(vm: KvmVm, r: KvmIrqRouting | null): number {
  if (!r) return -EFAULT;
  const nr = r.nr >>> 0;
  if (nr > KVM_MAX_IRQ_ROUTES) return -EINVAL;
  if (r.flags) return -EINVAL;
  if (r.entries.length < nr) return -EFAULT;
  const state = vmRouting(vm);
  const t = buildTable(vm, r.entries.slice(0, nr));
  if (typeof t === 'number') return t;
  install(state, t);
  return 0;
}

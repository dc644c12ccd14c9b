// kvm_util for interrupts: capabilities (kvm_check_cap, vm_check_cap, kvm_has_cap), GSI routing
// (kvm_gsi_routing_*), eventfds and irqfds (kvm_new_eventfd, kvm_irqfd, kvm_assign_irqfd, write,
// kvm_close), and vCPU device attributes with the timer helpers of include/arm64/arch_timer.h.
// Plain calls assert like kvm_util (a KvmError naming the errno); __/_ variants return -errno.

import { types } from 'node:util';
import { kvmCheckExtension } from '../kvm/caps.ts';
import { eventfdCreate, eventfdGet, eventfdRead, eventfdWrite } from '../kvm/eventfd.ts';
import { type KvmIrqRouting, type KvmIrqRoutingEntry, kvmSetGsiRouting } from '../kvm/irq-routing.ts';
import { irqfdIoctl } from '../kvm/irqfd.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { vcpuGetAttr, vcpuHasAttr, vcpuSetAttr } from '../kvm/vcpu-attr.ts';
import type { KvmVm } from '../kvm/vm.ts';
import { EBADF, EFAULT, EINVAL, errnoName } from '../uapi/errno.ts';
import {
  KVM_ARM_VCPU_TIMER_CTRL,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_MAX_IRQ_ROUTES,
} from '../uapi/kvm-irq.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { badArg, cInt, cLong, cU32, cU64, cU64Number, objectArg, readProps, vcpuArg, vmArg } from './args.ts';
import { kernelBuf, u32, userBytesOf, userInt, userObject, userStruct } from './buffers.ts';
import { closeDevice } from '../kvm/vm.ts';
import { check, raw } from './ioctl-ret.ts';
import { testAssert } from './test-util.ts';

export type { KvmIrqRouting, KvmIrqRoutingEntry } from '../kvm/irq-routing.ts';

// --- capabilities ----------------------------------------------------------------------------

// The ioctl's argument is a long (kvm_vm_ioctl_check_extension_generic(kvm, long arg)).

/** kvm_check_cap(cap): KVM_CHECK_EXTENSION on /dev/kvm; asserts it succeeded. */
export function kvmCheckCap(cap: number): number {
  return check(kvmCheckExtension(null, cLong(cap, 'kvmCheckCap', 'cap')), 'KVM_CHECK_EXTENSION');
}

/** vm_check_cap(vm, cap): KVM_CHECK_EXTENSION on the VM fd. */
export function vmCheckCap(vm: KvmVm, cap: number): number {
  return check(kvmCheckExtension(vmArg(vm, 'vmCheckCap'), cLong(cap, 'vmCheckCap', 'cap')), 'KVM_CHECK_EXTENSION');
}

/** kvm_has_cap(cap) */
export function kvmHasCap(cap: number): boolean {
  return check(kvmCheckExtension(null, cLong(cap, 'kvmHasCap', 'cap')), 'KVM_CHECK_EXTENSION') !== 0;
}

// --- GSI routing -------------------------------------------------------------------------------

/** kvm_gsi_routing_create(): room for KVM_MAX_IRQ_ROUTES entries. */
export function kvmGsiRoutingCreate(): KvmIrqRouting {
  return { nr: 0, flags: 0, entries: [] };
}

/** kvm_gsi_routing_irqchip_add(routing, gsi, pin): gsi and pin are u32 as in C. */
export function kvmGsiRoutingIrqchipAdd(routing: KvmIrqRouting, gsi: number, pin: number): void {
  const fn = 'kvmGsiRoutingIrqchipAdd';
  // The library writes routing->entries[routing->nr] itself: anything but a table is a port bug.
  const want = 'a routing table (kvmGsiRoutingCreate())';
  const r = readProps(objectArg<KvmIrqRouting>(routing, fn, 'routing'), ['nr', 'entries'], fn, 'routing');
  const nr = r.nr;
  if (typeof nr !== 'number' || !Number.isSafeInteger(nr) || nr < 0) badArg(fn, 'routing.nr', nr, 'an entry count');
  const entries = r.entries;
  if (!Array.isArray(entries)) badArg(fn, 'routing.entries', entries, `the entries of ${want}`);
  const g = cU32(gsi, fn, 'gsi');
  const p = cU32(pin, fn, 'pin');
  testAssert(nr < KVM_MAX_IRQ_ROUTES, 'assert(routing->nr < KVM_MAX_IRQ_ROUTES)');
  try {
    entries[nr] = { gsi: g, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, u: { irqchip: { irqchip: 0, pin: p } } };
    routing.nr = nr + 1;
  } catch (e) {
    badArg(fn, 'routing', e, `${want} it can write (a frozen table threw)`);
  }
}

/**
 * struct kvm_irq_routing as KVM_SET_GSI_ROUTING copies it in (kvm_main.c: kvm_vm_ioctl): the
 * header first (EFAULT), then its nr and flags checks (EINVAL), then nr entries
 * (vmemdup_array_user: EFAULT). So: null for a header the kernel cannot read; a table whose entries
 * are [] when the first nr of them cannot be read (entries.length < nr is EFAULT after the header
 * checks). Each entry is copied as the kernel's struct: integers only; a union member or field
 * left out is zeros. Nothing of the port's object is kept.
 */
function kernelRouting(routing: unknown): KvmIrqRouting | null {
  const h = userObject(routing, ['nr', 'flags', 'entries'] as const);
  const nr = h && userInt(h.nr);
  const flags = h && userInt(h.flags);
  if (!h || nr === null || flags === null) return null;
  const n = Number(BigInt.asUintN(32, nr));
  const out: KvmIrqRouting = { nr: n, flags: Number(BigInt.asUintN(32, flags)), entries: [] };
  // Entries are only read when the header passes (nr <= KVM_MAX_IRQ_ROUTES, no flags).
  if (n === 0 || n > KVM_MAX_IRQ_ROUTES || out.flags) return out;
  let list: unknown[];
  try {
    if (!Array.isArray(h.entries) || h.entries.length < n) return out;
    list = h.entries.slice(0, n);
  } catch {
    return out;
  }
  const entries: KvmIrqRoutingEntry[] = [];
  for (const ue of list) {
    const e = kernelRoutingEntry(ue);
    if (!e) return out;
    entries.push(e);
  }
  out.entries = entries;
  return out;
}

/** One struct kvm_irq_routing_entry as the kernel copies it, or null (EFAULT). */
function kernelRoutingEntry(ue: unknown): KvmIrqRoutingEntry | null {
  const u32 = (x: bigint): number => Number(BigInt.asUintN(32, x));
  const e = userStruct(ue, ['gsi', 'type', 'flags'] as const);
  const o = e && userObject(ue, ['u'] as const);
  if (!e || !o) return null;
  // The union: a member left out (or no union at all) reads as zeros.
  const members = o.u === undefined ? { irqchip: undefined, msi: undefined } : userObject(o.u, ['irqchip', 'msi'] as const);
  if (!members) return null;
  const entry: KvmIrqRoutingEntry = { gsi: u32(e.gsi), type: u32(e.type), flags: u32(e.flags), u: {} };
  if (members.irqchip !== undefined) {
    const c = userStruct(members.irqchip, ['irqchip', 'pin'] as const);
    if (!c) return null;
    entry.u.irqchip = { irqchip: u32(c.irqchip), pin: u32(c.pin) };
  }
  if (members.msi !== undefined) {
    const m = userStruct(members.msi, ['address_lo', 'address_hi', 'data', 'devid'] as const);
    if (!m) return null;
    entry.u.msi = { address_lo: u32(m.address_lo), address_hi: u32(m.address_hi), data: u32(m.data), devid: u32(m.devid) };
  }
  return entry;
}

/** _kvm_gsi_routing_write(vm, routing): KVM_SET_GSI_ROUTING, 0 or -errno. */
export function _kvmGsiRoutingWrite(vm: KvmVm, routing: KvmIrqRouting): number {
  return raw(kvmSetGsiRouting(vmArg(vm, '_kvmGsiRoutingWrite'), kernelRouting(routing)));
}

/** kvm_gsi_routing_write(vm, routing): asserts. */
export function kvmGsiRoutingWrite(vm: KvmVm, routing: KvmIrqRouting): void {
  check(kvmSetGsiRouting(vmArg(vm, 'kvmGsiRoutingWrite'), kernelRouting(routing)), 'KVM_SET_GSI_ROUTING');
}

// --- eventfd and irqfd --------------------------------------------------------------------------

/** kvm_new_eventfd(): eventfd(0, 0), asserted. */
export function kvmNewEventfd(): number {
  const fd = eventfdCreate(0);
  testAssert(fd >= 0, 'eventfd() failed, rc: %d', fd);
  return fd;
}

/**
 * struct kvm_irqfd as kvm_util fills it: `__u32 fd, gsi, flags, resamplefd` from int and u32
 * arguments, with C's conversions (a fd that is not open is EBADF, an open fd that is not an
 * eventfd EINVAL: kvm_irqfd_assign -> eventfd_ctx_fileget).
 */
function irqfd(fn: string, vm: unknown, gsi: unknown, eventfd: unknown, flags: unknown, resamplefd: unknown): number {
  return irqfdIoctl(vmArg(vm, fn), { fd: cInt(eventfd, fn, 'eventfd'), gsi: cU32(gsi, fn, 'gsi'), flags: cU32(flags, fn, 'flags'), resamplefd: cInt(resamplefd, fn, 'resamplefd') });
}

/** __kvm_irqfd(vm, gsi, eventfd, flags): 0 or -errno (resamplefd -1 as kvm_util passes it). */
export function __kvmIrqfd(vm: KvmVm, gsi: number, eventfd: number, flags: number, resamplefd = -1): number {
  return raw(irqfd('__kvmIrqfd', vm, gsi, eventfd, flags, resamplefd));
}

/** kvm_irqfd(vm, gsi, eventfd, flags): asserts. */
export function kvmIrqfd(vm: KvmVm, gsi: number, eventfd: number, flags: number): void {
  check(irqfd('kvmIrqfd', vm, gsi, eventfd, flags, -1), 'KVM_IRQFD');
}

/** kvm_assign_irqfd(vm, gsi, eventfd) */
export function kvmAssignIrqfd(vm: KvmVm, gsi: number, eventfd: number): void {
  check(irqfd('kvmAssignIrqfd', vm, gsi, eventfd, 0, -1), 'KVM_IRQFD');
}

/** kvm_deassign_irqfd(vm, gsi, eventfd) */
export function kvmDeassignIrqfd(vm: KvmVm, gsi: number, eventfd: number): void {
  check(irqfd('kvmDeassignIrqfd', vm, gsi, eventfd, KVM_IRQFD_FLAG_DEASSIGN, -1), 'KVM_IRQFD');
}

/**
 * write(fd, buf, count) for the fds the model has (eventfds): the bytes written, or -errno
 * (EBADF for a closed fd, EINVAL for an fd that cannot be written, EFAULT for a short buffer).
 * `count` is a size_t; a buffer the kernel cannot read is EFAULT after eventfd_write()'s count
 * check (fs/eventfd.c: the count is checked before copy_from_user).
 */
export function write(fd: number, buf: UserBuf | Uint8Array, count: number): number {
  const ev = eventfdGet(cInt(fd, 'write', 'fd'));
  if (typeof ev === 'number') return raw(ev);
  const n = cU64Number(count, 'write', 'count');
  // eventfd_write checks the count (exactly 8) before it copies the buffer.
  if (n !== 8) return raw(-EINVAL);
  const bytes = userBytesOf(buf);
  if (!bytes || bytes.length < n) return raw(-EFAULT);
  return raw(eventfdWrite(ev, bytes, n));
}

/**
 * read(fd, buf, count) on an eventfd: 8 with the count in buf, or -errno. A buffer the kernel
 * cannot write is EFAULT after the counter was read (eventfd_read: copy_to_iter comes last).
 */
export function read(fd: number, buf: UserBuf | Uint8Array, count: number): number {
  const ev = eventfdGet(cInt(fd, 'read', 'fd'));
  if (typeof ev === 'number') return raw(ev);
  const ucnt = new Uint8Array(8);
  const r = eventfdRead(ev, ucnt, cU64Number(count, 'read', 'count'));
  if (r < 0) return raw(r);
  if (types.isUint8Array(buf)) {
    buf.set(ucnt.subarray(0, Math.min(buf.length, 8)));
    return r;
  }
  const b = kernelBuf(buf);
  try {
    if (b && b.width >= 32) {
      b.set(new DataView(ucnt.buffer).getBigUint64(0, true));
      return r;
    }
  } catch {
    // another module's UserBuf whose set() throws: memory the kernel cannot write
  }
  return raw(-EFAULT);
}

/** kvm_close(fd): close() asserted. Closing an eventfd hangs up the irqfd using it. */
export function kvmClose(fd: number): void {
  const r = closeDevice(cInt(fd, 'kvmClose', 'fd'));
  testAssert(r === 0, 'close() failed, rc: %d errno: %d (%s)', r, -r, r === -EBADF ? 'EBADF' : errnoName(-r));
}

// --- vCPU device attributes ------------------------------------------------------------------

/**
 * struct kvm_device_attr on a vCPU fd, as for device fds (kvm-util.ts: attrIoctl): `__u32 group`
 * and `__u64 attr` take C's conversions, and the buffer is what the kernel can read (kernelBuf).
 */
function vcpuAttr(fn: string, vcpu: unknown, group: unknown, attr: unknown): [KvmVcpu, number, bigint] {
  return [vcpuArg(vcpu, fn), cU32(group, fn, 'group'), cU64(attr, fn, 'attr')];
}

export function __vcpuDeviceAttrGet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(vcpuGetAttr(...vcpuAttr('__vcpuDeviceAttrGet', vcpu, group, attr), kernelBuf(buf)));
}
export function __vcpuDeviceAttrSet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(vcpuSetAttr(...vcpuAttr('__vcpuDeviceAttrSet', vcpu, group, attr), kernelBuf(buf)));
}
export function __vcpuHasDeviceAttr(vcpu: KvmVcpu, group: number, attr: number | bigint): number {
  return raw(vcpuHasAttr(...vcpuAttr('__vcpuHasDeviceAttr', vcpu, group, attr)));
}
/** vcpu_device_attr_get(vcpu, group, attr, &val): asserts. */
export function vcpuDeviceAttrGet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(vcpuGetAttr(...vcpuAttr('vcpuDeviceAttrGet', vcpu, group, attr), kernelBuf(buf)), 'KVM_GET_DEVICE_ATTR');
}
/** vcpu_device_attr_set(vcpu, group, attr, &val): asserts. */
export function vcpuDeviceAttrSet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(vcpuSetAttr(...vcpuAttr('vcpuDeviceAttrSet', vcpu, group, attr), kernelBuf(buf)), 'KVM_SET_DEVICE_ATTR');
}
/** vcpu_has_device_attr(vcpu, group, attr): asserts. */
export function vcpuHasDeviceAttr(vcpu: KvmVcpu, group: number, attr: number | bigint): void {
  check(vcpuHasAttr(...vcpuAttr('vcpuHasDeviceAttr', vcpu, group, attr)), 'KVM_HAS_DEVICE_ATTR');
}

/** vcpu_get_vtimer_irq(vcpu) (include/arm64/arch_timer.h; no EL2, so the EL1 vtimer). */
export function vcpuGetVtimerIrq(vcpu: KvmVcpu): number {
  const v = u32();
  check(vcpuGetAttr(vcpuArg(vcpu, 'vcpuGetVtimerIrq'), KVM_ARM_VCPU_TIMER_CTRL, BigInt(KVM_ARM_VCPU_TIMER_IRQ_VTIMER), v), 'KVM_GET_DEVICE_ATTR');
  return v.value;
}

/** vcpu_get_ptimer_irq(vcpu) */
export function vcpuGetPtimerIrq(vcpu: KvmVcpu): number {
  const v = u32();
  check(vcpuGetAttr(vcpuArg(vcpu, 'vcpuGetPtimerIrq'), KVM_ARM_VCPU_TIMER_CTRL, BigInt(KVM_ARM_VCPU_TIMER_IRQ_PTIMER), v), 'KVM_GET_DEVICE_ATTR');
  return v.value;
}

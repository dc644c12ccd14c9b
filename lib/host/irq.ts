// kvm_util for interrupts: capabilities (kvm_check_cap, vm_check_cap, kvm_has_cap), GSI routing
// (kvm_gsi_routing_*), eventfds and irqfds (kvm_new_eventfd, kvm_irqfd, kvm_assign_irqfd, write,
// kvm_close), and vCPU device attributes with the timer helpers of include/arm64/arch_timer.h.
// Plain calls assert like kvm_util (a KvmError naming the errno); __/_ variants return -errno.

import { kvmCheckExtension } from '../kvm/caps.ts';
import { eventfdCreate, eventfdGet, eventfdRead, eventfdWrite } from '../kvm/eventfd.ts';
import { type KvmIrqRouting, kvmSetGsiRouting } from '../kvm/irq-routing.ts';
import { irqfdIoctl } from '../kvm/irqfd.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { vcpuGetAttr, vcpuHasAttr, vcpuSetAttr } from '../kvm/vcpu-attr.ts';
import type { KvmVm } from '../kvm/vm.ts';
import { EBADF, EFAULT, KvmError, errnoName, strerror } from '../uapi/errno.ts';
import {
  KVM_ARM_VCPU_TIMER_CTRL,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_MAX_IRQ_ROUTES,
} from '../uapi/kvm-irq.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { u32 } from './buffers.ts';
import { closeDevice } from '../kvm/vm.ts';
import { setErrno, testAssert } from './test-util.ts';

export type { KvmIrqRouting, KvmIrqRoutingEntry } from '../kvm/irq-routing.ts';

function raw(ret: number): number {
  if (ret < 0) setErrno(-ret);
  return ret;
}

/** KVM_IOCTL_ERROR(ioctl, ret) as a thrown KvmError. */
function check(ret: number, what: string): number {
  if (ret < 0) {
    setErrno(-ret);
    throw new KvmError(errnoName(-ret) as ConstructorParameters<typeof KvmError>[0], `${what} failed, rc: -1 errno: ${-ret} (${strerror(-ret)})`);
  }
  return ret;
}

// --- capabilities ----------------------------------------------------------------------------

/** kvm_check_cap(cap): KVM_CHECK_EXTENSION on /dev/kvm; asserts it succeeded. */
export function kvmCheckCap(cap: number): number {
  return check(kvmCheckExtension(null, cap), 'KVM_CHECK_EXTENSION');
}

/** vm_check_cap(vm, cap): KVM_CHECK_EXTENSION on the VM fd. */
export function vmCheckCap(vm: KvmVm, cap: number): number {
  return check(kvmCheckExtension(vm, cap), 'KVM_CHECK_EXTENSION');
}

/** kvm_has_cap(cap) */
export function kvmHasCap(cap: number): boolean {
  return kvmCheckCap(cap) !== 0;
}

// --- GSI routing -------------------------------------------------------------------------------

/** kvm_gsi_routing_create(): room for KVM_MAX_IRQ_ROUTES entries. */
export function kvmGsiRoutingCreate(): KvmIrqRouting {
  return { nr: 0, flags: 0, entries: [] };
}

/** kvm_gsi_routing_irqchip_add(routing, gsi, pin): gsi and pin are u32 as in C. */
export function kvmGsiRoutingIrqchipAdd(routing: KvmIrqRouting, gsi: number, pin: number): void {
  testAssert(routing.nr < KVM_MAX_IRQ_ROUTES, 'assert(routing->nr < KVM_MAX_IRQ_ROUTES)');
  routing.entries[routing.nr] = { gsi: gsi >>> 0, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, u: { irqchip: { irqchip: 0, pin: pin >>> 0 } } };
  routing.nr++;
}

/** _kvm_gsi_routing_write(vm, routing): KVM_SET_GSI_ROUTING, 0 or -errno. */
export function _kvmGsiRoutingWrite(vm: KvmVm, routing: KvmIrqRouting): number {
  return raw(kvmSetGsiRouting(vm, routing));
}

/** kvm_gsi_routing_write(vm, routing): asserts. */
export function kvmGsiRoutingWrite(vm: KvmVm, routing: KvmIrqRouting): void {
  check(kvmSetGsiRouting(vm, routing), 'KVM_SET_GSI_ROUTING');
}

// --- eventfd and irqfd --------------------------------------------------------------------------

/** kvm_new_eventfd(): eventfd(0, 0), asserted. */
export function kvmNewEventfd(): number {
  const fd = eventfdCreate(0);
  testAssert(fd >= 0, 'eventfd() failed, rc: %d', fd);
  return fd;
}

/** __kvm_irqfd(vm, gsi, eventfd, flags): 0 or -errno (resamplefd -1 as kvm_util passes it). */
export function __kvmIrqfd(vm: KvmVm, gsi: number, eventfd: number, flags: number, resamplefd = -1): number {
  return raw(irqfdIoctl(vm, { fd: eventfd, gsi: gsi >>> 0, flags: flags >>> 0, resamplefd }));
}

/** kvm_irqfd(vm, gsi, eventfd, flags): asserts. */
export function kvmIrqfd(vm: KvmVm, gsi: number, eventfd: number, flags: number): void {
  check(irqfdIoctl(vm, { fd: eventfd, gsi: gsi >>> 0, flags: flags >>> 0, resamplefd: -1 }), 'KVM_IRQFD');
}

/** kvm_assign_irqfd(vm, gsi, eventfd) */
export function kvmAssignIrqfd(vm: KvmVm, gsi: number, eventfd: number): void {
  kvmIrqfd(vm, gsi, eventfd, 0);
}

/** kvm_deassign_irqfd(vm, gsi, eventfd) */
export function kvmDeassignIrqfd(vm: KvmVm, gsi: number, eventfd: number): void {
  kvmIrqfd(vm, gsi, eventfd, KVM_IRQFD_FLAG_DEASSIGN);
}

/** The bytes behind a `&val` buffer (little-endian, the buffer's width). */
function bytesOf(buf: UserBuf | Uint8Array): Uint8Array {
  if (buf instanceof Uint8Array) return buf;
  const b = new Uint8Array(buf.width / 8);
  const d = new DataView(b.buffer);
  if (buf.width === 64) d.setBigUint64(0, buf.get(), true);
  else d.setUint32(0, Number(buf.get()), true);
  return b;
}

/**
 * write(fd, buf, count) for the fds the model has (eventfds): the bytes written, or -errno
 * (EBADF for a closed fd, EINVAL for an fd that cannot be written, EFAULT for a short buffer).
 */
export function write(fd: number, buf: UserBuf | Uint8Array, count: number): number {
  const ev = eventfdGet(fd);
  if (typeof ev === 'number') return raw(ev);
  const bytes = bytesOf(buf);
  if (bytes.length < count) return raw(-EFAULT);
  return raw(eventfdWrite(ev, bytes, count));
}

/** read(fd, buf, count) on an eventfd: 8 with the count in buf, or -errno. */
export function read(fd: number, buf: UserBuf | Uint8Array, count: number): number {
  const ev = eventfdGet(fd);
  if (typeof ev === 'number') return raw(ev);
  const bytes = new Uint8Array(Math.max(8, count));
  const r = eventfdRead(ev, bytes, count);
  if (r < 0) return raw(r);
  if (buf instanceof Uint8Array) buf.set(bytes.subarray(0, Math.min(buf.length, 8)));
  else buf.set(new DataView(bytes.buffer).getBigUint64(0, true));
  return r;
}

/** kvm_close(fd): close() asserted. Closing an eventfd hangs up the irqfd using it. */
export function kvmClose(fd: number): void {
  const r = closeDevice(fd);
  testAssert(r === 0, 'close() failed, rc: %d errno: %d (%s)', r, -r, r === -EBADF ? 'EBADF' : errnoName(-r));
}

// --- vCPU device attributes ------------------------------------------------------------------

const toAttr = (attr: number | bigint): bigint => BigInt.asUintN(64, BigInt(attr));

export function __vcpuDeviceAttrGet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(vcpuGetAttr(vcpu, group, toAttr(attr), buf));
}
export function __vcpuDeviceAttrSet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(vcpuSetAttr(vcpu, group, toAttr(attr), buf));
}
export function __vcpuHasDeviceAttr(vcpu: KvmVcpu, group: number, attr: number | bigint): number {
  return raw(vcpuHasAttr(vcpu, group, toAttr(attr)));
}
/** vcpu_device_attr_get(vcpu, group, attr, &val): asserts. */
export function vcpuDeviceAttrGet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(vcpuGetAttr(vcpu, group, toAttr(attr), buf), 'KVM_GET_DEVICE_ATTR');
}
/** vcpu_device_attr_set(vcpu, group, attr, &val): asserts. */
export function vcpuDeviceAttrSet(vcpu: KvmVcpu, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(vcpuSetAttr(vcpu, group, toAttr(attr), buf), 'KVM_SET_DEVICE_ATTR');
}
/** vcpu_has_device_attr(vcpu, group, attr): asserts. */
export function vcpuHasDeviceAttr(vcpu: KvmVcpu, group: number, attr: number | bigint): void {
  check(vcpuHasAttr(vcpu, group, toAttr(attr)), 'KVM_HAS_DEVICE_ATTR');
}

/** vcpu_get_vtimer_irq(vcpu) (include/arm64/arch_timer.h; no EL2, so the EL1 vtimer). */
export function vcpuGetVtimerIrq(vcpu: KvmVcpu): number {
  const v = u32();
  vcpuDeviceAttrGet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_VTIMER, v);
  return v.value;
}

/** vcpu_get_ptimer_irq(vcpu) */
export function vcpuGetPtimerIrq(vcpu: KvmVcpu): number {
  const v = u32();
  vcpuDeviceAttrGet(vcpu, KVM_ARM_VCPU_TIMER_CTRL, KVM_ARM_VCPU_TIMER_IRQ_PTIMER, v);
  return v.value;
}

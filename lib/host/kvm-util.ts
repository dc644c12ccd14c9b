// kvm_util.c for ports: VM and vCPU creation, device ioctls, running vCPUs, ucalls and guest
// globals. Plain functions assert (throw a KvmError naming the errno); __ variants return -errno.

import { Guest } from '../guest/guest.ts';
import { type GuestProgram, UCALL_NONE, type Ucall } from '../kvm/guest-abi.ts';
import { KvmVcpu } from '../kvm/vcpu.ts';
import {
  KvmVm,
  type VmOptions,
  closeDevice,
  deviceGetAttr,
  deviceHasAttr,
  deviceSetAttr,
} from '../kvm/vm.ts';
import { KVM_CREATE_DEVICE_TEST, KVM_DEV_TYPE_ARM_VGIC_V3 } from '../uapi/kvm.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { GUEST_PAGE_SIZE } from '../kvm/memory.ts';
import { badArg, cInt, cNumber, cU32, cU64, codeArg, objectArg, stringArg, vcpuArg, vmArg } from './args.ts';
import { kernelBuf } from './buffers.ts';
import { vmOptions } from './vm-options.ts';
import { check, raw } from './ioctl-ret.ts';
import { testAssert } from './test-util.ts';

export { KvmVm, KvmVcpu, type VmOptions };

/** A guest program's entry point: `function* guestCode(g: Guest): GuestProgram`. */
export type GuestCode = (g: Guest) => GuestProgram;

/** Per-VM state of the selftest library (struct kvm_vm's arch part). */
interface HostVmState {
  gicFd: number;
  irqHandler: GuestCode | null;
}
const hostState = new WeakMap<KvmVm, HostVmState>();
function stateOf(vm: KvmVm): HostVmState {
  let s = hostState.get(vm);
  if (!s) {
    s = { gicFd: -1, irqHandler: null };
    hostState.set(vm, s);
  }
  return s;
}

// --- the guest image ---------------------------------------------------------------------------

const initialImage = new Map<string, unknown>();

/** Register test globals; every new VM's guest copy starts from these values (like .data). */
export function guestGlobals<T extends object>(globals: T): T {
  const g = objectArg<T>(globals, 'guestGlobals', 'globals');
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(g);
  } catch {
    return badArg('guestGlobals', 'globals', globals, 'an object whose properties can be read');
  }
  for (const [k, v] of entries) initialImage.set(k, v);
  return globals;
}

/** sync_global_to_guest(vm, g) */
export function syncGlobalToGuest<T extends object>(vm: KvmVm, globals: T, name: keyof T & string): void {
  vmArg(vm, 'syncGlobalToGuest').guestGlobals.set(stringArg(name, 'syncGlobalToGuest', 'name'), objectArg<T>(globals, 'syncGlobalToGuest', 'globals')[name]);
}

/** sync_global_from_guest(vm, g) */
export function syncGlobalFromGuest<T extends object>(vm: KvmVm, globals: T, name: keyof T & string): void {
  const image = vmArg(vm, 'syncGlobalFromGuest').guestGlobals;
  objectArg<T>(globals, 'syncGlobalFromGuest', 'globals');
  if (image.has(stringArg(name, 'syncGlobalFromGuest', 'name'))) globals[name] = image.get(name) as T[typeof name];
}

/** write_guest_global(vm, g, val) */
export function writeGuestGlobal<T extends object, K extends keyof T & string>(vm: KvmVm, _g: T, name: K, v: T[K]): void {
  vmArg(vm, 'writeGuestGlobal').guestGlobals.set(stringArg(name, 'writeGuestGlobal', 'name'), v);
}

// --- VMs ------------------------------------------------------------------------------------------

let defaultVgicDisabled = false;

/** test_disable_default_vgic(): later vm_create() calls make no vGIC. */
export function testDisableDefaultVgic(): void {
  defaultVgicDisabled = true;
}

/** vm_create_barebones(): no vCPUs, no vGIC. */
export function vmCreateBarebones(opts: VmOptions = {}): KvmVm {
  const vm = new KvmVm(vmOptions(opts, 'vmCreateBarebones'));
  for (const [k, v] of initialImage) vm.guestGlobals.set(k, v);
  return vm;
}

/** vm_create(n): plus the default 64-IRQ vGICv3 (not initialised), unless disabled. */
export function vmCreate(nrVcpus: number, opts: VmOptions = {}): KvmVm {
  nrVcpus = cU32(nrVcpus, 'vmCreate', 'nrVcpus');
  const vm = vmCreateBarebones(vmOptions(opts, 'vmCreate'));
  if (!defaultVgicDisabled && kvmSupportsVgicV3Host()) {
    // kvm_arch_vm_post_create() -> __vgic_v3_setup(vm, nr_vcpus, 64)
    stateOf(vm).gicFd = defaultVgicSetup(vm, nrVcpus);
  }
  return vm;
}

let defaultVgicSetup: (vm: KvmVm, nrVcpus: number) => number = () => -1;
/** lib/host/vgic.ts plugs in __vgic_v3_setup (kept apart to mirror lib/arm64/vgic.c). */
export function setDefaultVgicSetup(fn: (vm: KvmVm, nrVcpus: number) => number): void {
  if (typeof fn !== 'function') badArg('setDefaultVgicSetup', 'fn', fn, 'a function');
  defaultVgicSetup = fn;
}
function kvmSupportsVgicV3Host(): boolean {
  return true;
}

/** The default vGIC's fd (vm->arch.gic_fd), or -1. */
export function vmGicFd(vm: KvmVm): number {
  return stateOf(vmArg(vm, 'vmGicFd')).gicFd;
}

/** vm_create_with_vcpus(n, code, vcpus) then kvm_arch_vm_finalize_vcpus() (CTRL_INIT). */
export function vmCreateWithVcpus(n: number, guestCode: GuestCode | null, opts: VmOptions = {}): { vm: KvmVm; vcpus: KvmVcpu[] } {
  n = cU32(n, 'vmCreateWithVcpus', 'nrVcpus');
  codeArg(guestCode, 'vmCreateWithVcpus', 'guestCode');
  const vm = vmCreate(n, vmOptions(opts, 'vmCreateWithVcpus'));
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < n; i++) vcpus.push(vmVcpuAdd(vm, i, guestCode));
  const fd = stateOf(vm).gicFd;
  if (fd >= 0) kvmDeviceAttrSet(fd, 4 /* GRP_CTRL */, 0 /* CTRL_INIT */, null);
  return { vm, vcpus };
}

/** vm_create_with_one_vcpu(&vcpu, code) */
export function vmCreateWithOneVcpu(guestCode: GuestCode | null, opts: VmOptions = {}): { vm: KvmVm; vcpu: KvmVcpu } {
  const { vm, vcpus } = vmCreateWithVcpus(1, guestCode, opts);
  return { vm, vcpu: vcpus[0]! };
}

/** __vm_vcpu_add(): the vCPU, or -errno. */
export function __vmVcpuAdd(vm: KvmVm, vcpuId: number, guestCode: GuestCode | null = null): KvmVcpu | number {
  vmArg(vm, '__vmVcpuAdd');
  const code = codeArg<GuestCode>(guestCode, '__vmVcpuAdd', 'guestCode');
  // KVM_CREATE_VCPU's id; a non-integer number is left for createVcpu() to refuse (EINVAL).
  const r = vm.createVcpu(typeof vcpuId === 'bigint' ? cU32(vcpuId, '__vmVcpuAdd', 'vcpuId') : cNumber(vcpuId, '__vmVcpuAdd', 'vcpuId'));
  if (typeof r === 'number') return raw(r);
  bindGuest(vm, r, code);
  return r;
}

/** vm_vcpu_add(): asserts success. */
export function vmVcpuAdd(vm: KvmVm, vcpuId: number, guestCode: GuestCode | null = null): KvmVcpu {
  const r = __vmVcpuAdd(vm, vcpuId, guestCode);
  if (typeof r === 'number') check(r, 'KVM_CREATE_VCPU');
  return r as KvmVcpu;
}

function bindGuest(vm: KvmVm, vcpu: KvmVcpu, code: GuestCode | null): void {
  if (code) {
    const g = new Guest(vcpu.id, vm.guestGlobals);
    vcpu.entry = () => code(g);
  }
  const handler = stateOf(vm).irqHandler;
  if (handler) bindIrqHandler(vm, vcpu, handler);
}

function bindIrqHandler(vm: KvmVm, vcpu: KvmVcpu, handler: GuestCode): void {
  // The handler runs on its own Guest so its accesses never share state with the interrupted code.
  const g = new Guest(vcpu.id, vm.guestGlobals);
  vcpu.irqHandler = () => handler(g);
}

/** vcpu_arch_set_entry / vcpu code replacement (aarch64_vcpu_setup with new code). */
export function vcpuSetGuestCode(vcpu: KvmVcpu, code: GuestCode): void {
  vcpuArg(vcpu, 'vcpuSetGuestCode');
  if (typeof code !== 'function') badArg('vcpuSetGuestCode', 'code', code, 'a guest function (function* (g) { ... })');
  const g = new Guest(vcpu.id, vcpu.vm.guestGlobals);
  vcpu.entry = () => code(g);
}

export const VECTOR_IRQ_CURRENT = 'irq-current';

/** vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, handler) */
export function vmInstallExceptionHandler(vm: KvmVm, vector: typeof VECTOR_IRQ_CURRENT, handler: GuestCode): void {
  vmArg(vm, 'vmInstallExceptionHandler');
  if (vector !== VECTOR_IRQ_CURRENT) badArg('vmInstallExceptionHandler', 'vector', vector, `VECTOR_IRQ_CURRENT ('${VECTOR_IRQ_CURRENT}', the only vector modelled)`);
  if (typeof handler !== 'function') badArg('vmInstallExceptionHandler', 'handler', handler, 'a guest function (function* (g) { ... })');
  stateOf(vm).irqHandler = handler;
  for (const v of vm.vcpus) bindIrqHandler(vm, v, handler);
}

/** kvm_vm_free(): closes the default vGIC fd, then every fd of the VM (KvmVm.free). */
export function kvmVmFree(vm: KvmVm): void {
  const s = stateOf(vmArg(vm, 'kvmVmFree'));
  if (s.gicFd >= 0) closeDevice(s.gicFd);
  s.gicFd = -1;
  vm.free();
}

// --- guest memory ----------------------------------------------------------------------------------

/** __vm_set_user_memory_region(vm, slot, flags, gpa, size): 0 or -errno. */
export function __vmSetUserMemoryRegion(vm: KvmVm, slot: number, gpa: number, size: number): number {
  const fn = '__vmSetUserMemoryRegion';
  // Non-integers are left for the memslot code to refuse (EINVAL).
  return raw(vmArg(vm, fn).setUserMemoryRegion(cNumber(slot, fn, 'slot'), cNumber(gpa, fn, 'gpa'), cNumber(size, fn, 'size')));
}

/** vm_userspace_mem_region_add(vm, src_type, gpa, slot, npages, flags): asserts. */
export function vmUserspaceMemRegionAdd(vm: KvmVm, gpa: number, slot: number, npages: number): void {
  const fn = 'vmUserspaceMemRegionAdd';
  const size = cNumber(npages, fn, 'npages') * GUEST_PAGE_SIZE;
  check(vmArg(vm, fn).setUserMemoryRegion(cNumber(slot, fn, 'slot'), cNumber(gpa, fn, 'gpa'), size), 'KVM_SET_USER_MEMORY_REGION');
}

/** What addr_gpa2hva() gives a C test: the bytes of guest RAM at a GPA (a copy). */
export function gpaRead(vm: KvmVm, gpa: number, len: number): Uint8Array {
  vmArg(vm, 'gpaRead');
  gpa = cNumber(gpa, 'gpaRead', 'gpa');
  len = cNumber(len, 'gpaRead', 'len');
  if (!Number.isSafeInteger(len) || len < 0) badArg('gpaRead', 'len', len, 'a byte count');
  testAssert(Number.isSafeInteger(gpa) && vm.memory.isRam(gpa, len), 'No vm physical memory at 0x%lx', gpa);
  return vm.memory.readBytes(gpa, len);
}

/** Store bytes into guest RAM at a GPA. */
export function gpaWrite(vm: KvmVm, gpa: number, data: Uint8Array): void {
  vmArg(vm, 'gpaWrite');
  gpa = cNumber(gpa, 'gpaWrite', 'gpa');
  if (!(data instanceof Uint8Array)) badArg('gpaWrite', 'data', data, 'a Uint8Array');
  testAssert(Number.isSafeInteger(gpa) && vm.memory.isRam(gpa, data.length), 'No vm physical memory at 0x%lx', gpa);
  vm.memory.writeBytes(gpa, data);
}

// --- running -------------------------------------------------------------------------------------

/** __vcpu_run(): 0 or -errno (the first-run vGIC checks). */
export function __vcpuRun(vcpu: KvmVcpu): number {
  return raw(vcpuArg(vcpu, '__vcpuRun').run());
}

/** vcpu_run(): asserts KVM_RUN succeeded. */
export function vcpuRun(vcpu: KvmVcpu): void {
  check(vcpuArg(vcpu, 'vcpuRun').run(), 'KVM_RUN');
}

/** get_ucall(vcpu, &uc): the ucall the last run exited with, or UCALL_NONE. */
export function getUcall(vcpu: KvmVcpu): Ucall {
  return vcpuArg(vcpu, 'getUcall').exit.ucall ?? { cmd: UCALL_NONE, args: [], buffer: '' };
}

// --- devices -------------------------------------------------------------------------------------

/** __kvm_create_device(): fd or -errno. */
export function __kvmCreateDevice(vm: KvmVm, type: number): number {
  return raw(vmArg(vm, '__kvmCreateDevice').createDevice(cU32(type, '__kvmCreateDevice', 'type')));
}

/** kvm_create_device(): asserts. */
export function kvmCreateDevice(vm: KvmVm, type: number): number {
  return check(vmArg(vm, 'kvmCreateDevice').createDevice(cU32(type, 'kvmCreateDevice', 'type')), 'KVM_CREATE_DEVICE');
}

/** __kvm_test_create_device(): 0 or -errno (KVM_CREATE_DEVICE_TEST). */
export function __kvmTestCreateDevice(vm: KvmVm, type: number): number {
  return raw(vmArg(vm, '__kvmTestCreateDevice').createDevice(cU32(type, '__kvmTestCreateDevice', 'type'), KVM_CREATE_DEVICE_TEST));
}

/**
 * struct kvm_device_attr (include/uapi/linux/kvm.h) as a C caller fills it: `int fd`, `__u32
 * group` and the `__u64 attr` take C's conversions (a fractional number truncates, integers wrap,
 * NaN/Infinity, undefined in C, become 0), and the buffer is what the kernel can read through the
 * `addr` pointer (kernelBuf(): anything unreadable is EFAULT where KVM touches it).
 */
function attrIoctl(
  fn: string,
  op: typeof deviceGetAttr | typeof deviceSetAttr,
  fd: unknown,
  group: unknown,
  attr: unknown,
  buf: unknown,
): number {
  return op(cInt(fd, fn, 'fd'), cU32(group, fn, 'group'), cU64(attr, fn, 'attr'), kernelBuf(buf));
}

export function __kvmDeviceAttrGet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(attrIoctl('__kvmDeviceAttrGet', deviceGetAttr, fd, group, attr, buf));
}
export function __kvmDeviceAttrSet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(attrIoctl('__kvmDeviceAttrSet', deviceSetAttr, fd, group, attr, buf));
}
export function kvmDeviceAttrGet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(attrIoctl('kvmDeviceAttrGet', deviceGetAttr, fd, group, attr, buf), 'KVM_GET_DEVICE_ATTR');
}
export function kvmDeviceAttrSet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(attrIoctl('kvmDeviceAttrSet', deviceSetAttr, fd, group, attr, buf), 'KVM_SET_DEVICE_ATTR');
}
export function __kvmHasDeviceAttr(fd: number, group: number, attr: number | bigint): number {
  const fn = '__kvmHasDeviceAttr';
  return raw(deviceHasAttr(cInt(fd, fn, 'fd'), cU32(group, fn, 'group'), cU64(attr, fn, 'attr')));
}
export function kvmHasDeviceAttr(fd: number, group: number, attr: number | bigint): void {
  const fn = 'kvmHasDeviceAttr';
  check(deviceHasAttr(cInt(fd, fn, 'fd'), cU32(group, fn, 'group'), cU64(attr, fn, 'attr')), 'KVM_HAS_DEVICE_ATTR');
}

/** close(fd) */
export function close(fd: number): number {
  return raw(closeDevice(cInt(fd, 'close', 'fd')));
}

/**
 * KVM_IRQ_LINE with struct kvm_irq_level { __u32 irq; __u32 level; }, as _kvm_irq_line(vm, u32
 * irq, int level) fills it: a bigint or fractional irq converts to the u32 the kernel decodes
 * (kvm_vm_ioctl_irq_line answers EINVAL/ENXIO for what it does not accept), any non-zero level
 * after C's conversion is high.
 */
function irqLine(fn: string, vm: unknown, irq: unknown, level: unknown): number {
  return vmArg(vm, fn).irqLine(cU32(irq, fn, 'irq'), cInt(level, fn, 'level') !== 0);
}

/** KVM_IRQ_LINE: _kvm_irq_line() returns 0 or -errno. */
export function _kvmIrqLine(vm: KvmVm, irq: number, level: number | boolean): number {
  return raw(irqLine('_kvmIrqLine', vm, irq, level));
}
export function kvmIrqLine(vm: KvmVm, irq: number, level: number | boolean): void {
  check(irqLine('kvmIrqLine', vm, irq, level), 'KVM_IRQ_LINE');
}

/** kvm_supports_vgic_v3(): test-create on a barebones VM. */
export function kvmSupportsVgicV3(opts: VmOptions = {}): boolean {
  const vm = vmCreateBarebones(vmOptions(opts, 'kvmSupportsVgicV3'));
  return vm.createDevice(KVM_DEV_TYPE_ARM_VGIC_V3, KVM_CREATE_DEVICE_TEST) === 0;
}

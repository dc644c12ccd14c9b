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
import { KvmError, errnoName, strerror } from '../uapi/errno.ts';
import { KVM_CREATE_DEVICE_TEST, KVM_DEV_TYPE_ARM_VGIC_V3 } from '../uapi/kvm.ts';
import type { UserBuf } from '../vgic/user-buf.ts';
import { GUEST_PAGE_SIZE } from '../kvm/memory.ts';
import { setErrno, testAssert } from './test-util.ts';

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

/** Run an ioctl result through errno; negative results become a KvmError in the asserting wrappers. */
function check(ret: number, what: string): number {
  if (ret < 0) {
    setErrno(-ret);
    const name = errnoName(-ret);
    throw new KvmError(name as ConstructorParameters<typeof KvmError>[0], `${what} failed, rc: -1 errno: ${-ret} (${strerror(-ret)})`);
  }
  return ret;
}
function raw(ret: number): number {
  if (ret < 0) setErrno(-ret);
  return ret;
}

// --- the guest image ---------------------------------------------------------------------------

const initialImage = new Map<string, unknown>();

/** Register test globals; every new VM's guest copy starts from these values (like .data). */
export function guestGlobals<T extends object>(globals: T): T {
  for (const [k, v] of Object.entries(globals)) initialImage.set(k, v);
  return globals;
}

/** sync_global_to_guest(vm, g) */
export function syncGlobalToGuest<T extends object>(vm: KvmVm, globals: T, name: keyof T & string): void {
  vm.guestGlobals.set(name, globals[name]);
}

/** sync_global_from_guest(vm, g) */
export function syncGlobalFromGuest<T extends object>(vm: KvmVm, globals: T, name: keyof T & string): void {
  if (vm.guestGlobals.has(name)) globals[name] = vm.guestGlobals.get(name) as T[typeof name];
}

/** write_guest_global(vm, g, val) */
export function writeGuestGlobal<T extends object, K extends keyof T & string>(vm: KvmVm, _g: T, name: K, v: T[K]): void {
  vm.guestGlobals.set(name, v);
}

// --- VMs ------------------------------------------------------------------------------------------

let defaultVgicDisabled = false;

/** test_disable_default_vgic(): later vm_create() calls make no vGIC. */
export function testDisableDefaultVgic(): void {
  defaultVgicDisabled = true;
}

/** vm_create_barebones(): no vCPUs, no vGIC. */
export function vmCreateBarebones(opts: VmOptions = {}): KvmVm {
  const vm = new KvmVm(opts);
  for (const [k, v] of initialImage) vm.guestGlobals.set(k, v);
  return vm;
}

/** vm_create(n): plus the default 64-IRQ vGICv3 (not initialised), unless disabled. */
export function vmCreate(nrVcpus: number, opts: VmOptions = {}): KvmVm {
  const vm = vmCreateBarebones(opts);
  if (!defaultVgicDisabled && kvmSupportsVgicV3Host()) {
    // kvm_arch_vm_post_create() -> __vgic_v3_setup(vm, nr_vcpus, 64)
    stateOf(vm).gicFd = defaultVgicSetup(vm, nrVcpus);
  }
  return vm;
}

let defaultVgicSetup: (vm: KvmVm, nrVcpus: number) => number = () => -1;
/** lib/host/vgic.ts plugs in __vgic_v3_setup (kept apart to mirror lib/arm64/vgic.c). */
export function setDefaultVgicSetup(fn: (vm: KvmVm, nrVcpus: number) => number): void {
  defaultVgicSetup = fn;
}
function kvmSupportsVgicV3Host(): boolean {
  return true;
}

/** The default vGIC's fd (vm->arch.gic_fd), or -1. */
export function vmGicFd(vm: KvmVm): number {
  return stateOf(vm).gicFd;
}

/** vm_create_with_vcpus(n, code, vcpus) then kvm_arch_vm_finalize_vcpus() (CTRL_INIT). */
export function vmCreateWithVcpus(n: number, guestCode: GuestCode | null, opts: VmOptions = {}): { vm: KvmVm; vcpus: KvmVcpu[] } {
  const vm = vmCreate(n, opts);
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
  const r = vm.createVcpu(vcpuId);
  if (typeof r === 'number') return raw(r);
  bindGuest(vm, r, guestCode);
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
  const g = new Guest(vcpu.id, vcpu.vm.guestGlobals);
  vcpu.entry = () => code(g);
}

export const VECTOR_IRQ_CURRENT = 'irq-current';

/** vm_install_exception_handler(vm, VECTOR_IRQ_CURRENT, handler) */
export function vmInstallExceptionHandler(vm: KvmVm, _vector: typeof VECTOR_IRQ_CURRENT, handler: GuestCode): void {
  stateOf(vm).irqHandler = handler;
  for (const v of vm.vcpus) bindIrqHandler(vm, v, handler);
}

/** kvm_vm_free(): closes the default vGIC fd, then every fd of the VM (KvmVm.free). */
export function kvmVmFree(vm: KvmVm): void {
  const s = stateOf(vm);
  if (s.gicFd >= 0) closeDevice(s.gicFd);
  s.gicFd = -1;
  vm.free();
}

// --- guest memory ----------------------------------------------------------------------------------

/** __vm_set_user_memory_region(vm, slot, flags, gpa, size): 0 or -errno. */
export function __vmSetUserMemoryRegion(vm: KvmVm, slot: number, gpa: number, size: number): number {
  return raw(vm.setUserMemoryRegion(slot, gpa, size));
}

/** vm_userspace_mem_region_add(vm, src_type, gpa, slot, npages, flags): asserts. */
export function vmUserspaceMemRegionAdd(vm: KvmVm, gpa: number, slot: number, npages: number): void {
  check(vm.setUserMemoryRegion(slot, gpa, npages * GUEST_PAGE_SIZE), 'KVM_SET_USER_MEMORY_REGION');
}

/** What addr_gpa2hva() gives a C test: the bytes of guest RAM at a GPA (a copy). */
export function gpaRead(vm: KvmVm, gpa: number, len: number): Uint8Array {
  testAssert(vm.memory.isRam(gpa, len), 'No vm physical memory at 0x%lx', gpa);
  return vm.memory.readBytes(gpa, len);
}

/** Store bytes into guest RAM at a GPA. */
export function gpaWrite(vm: KvmVm, gpa: number, data: Uint8Array): void {
  testAssert(vm.memory.isRam(gpa, data.length), 'No vm physical memory at 0x%lx', gpa);
  vm.memory.writeBytes(gpa, data);
}

// --- running -------------------------------------------------------------------------------------

/** __vcpu_run(): 0 or -errno (the first-run vGIC checks). */
export function __vcpuRun(vcpu: KvmVcpu): number {
  return raw(vcpu.run());
}

/** vcpu_run(): asserts KVM_RUN succeeded. */
export function vcpuRun(vcpu: KvmVcpu): void {
  check(vcpu.run(), 'KVM_RUN');
}

/** get_ucall(vcpu, &uc): the ucall the last run exited with, or UCALL_NONE. */
export function getUcall(vcpu: KvmVcpu): Ucall {
  return vcpu.exit.ucall ?? { cmd: UCALL_NONE, args: [], buffer: '' };
}

// --- devices -------------------------------------------------------------------------------------

/** __kvm_create_device(): fd or -errno. */
export function __kvmCreateDevice(vm: KvmVm, type: number): number {
  return raw(vm.createDevice(type));
}

/** kvm_create_device(): asserts. */
export function kvmCreateDevice(vm: KvmVm, type: number): number {
  return check(vm.createDevice(type), 'KVM_CREATE_DEVICE');
}

/** __kvm_test_create_device(): 0 or -errno (KVM_CREATE_DEVICE_TEST). */
export function __kvmTestCreateDevice(vm: KvmVm, type: number): number {
  return raw(vm.createDevice(type, KVM_CREATE_DEVICE_TEST));
}

/**
 * The __u64 attr of struct kvm_device_attr (include/uapi/linux/kvm.h), as C's implicit
 * conversion to uint64_t gives it: integers wrap modulo 2^64, a fractional number is truncated
 * toward zero, and NaN/Infinity (undefined in C) become 0 rather than a JS RangeError.
 */
function toAttr(attr: number | bigint): bigint {
  if (typeof attr === 'bigint') return BigInt.asUintN(64, attr);
  return Number.isFinite(attr) ? BigInt.asUintN(64, BigInt(Math.trunc(attr))) : 0n;
}

export function __kvmDeviceAttrGet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(deviceGetAttr(fd, group, toAttr(attr), buf));
}
export function __kvmDeviceAttrSet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): number {
  return raw(deviceSetAttr(fd, group, toAttr(attr), buf));
}
export function kvmDeviceAttrGet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(deviceGetAttr(fd, group, toAttr(attr), buf), 'KVM_GET_DEVICE_ATTR');
}
export function kvmDeviceAttrSet(fd: number, group: number, attr: number | bigint, buf: UserBuf | null): void {
  check(deviceSetAttr(fd, group, toAttr(attr), buf), 'KVM_SET_DEVICE_ATTR');
}
export function __kvmHasDeviceAttr(fd: number, group: number, attr: number | bigint): number {
  return raw(deviceHasAttr(fd, group, toAttr(attr)));
}
export function kvmHasDeviceAttr(fd: number, group: number, attr: number | bigint): void {
  check(deviceHasAttr(fd, group, toAttr(attr)), 'KVM_HAS_DEVICE_ATTR');
}

/** close(fd) */
export function close(fd: number): number {
  return raw(closeDevice(fd));
}

/** KVM_IRQ_LINE: _kvm_irq_line() returns 0 or -errno. */
export function _kvmIrqLine(vm: KvmVm, irq: number, level: number | boolean): number {
  return raw(vm.irqLine(irq >>> 0, !!level));
}
export function kvmIrqLine(vm: KvmVm, irq: number, level: number | boolean): void {
  check(vm.irqLine(irq >>> 0, !!level), 'KVM_IRQ_LINE');
}

/** kvm_supports_vgic_v3(): test-create on a barebones VM. */
export function kvmSupportsVgicV3(opts: VmOptions = {}): boolean {
  const vm = vmCreateBarebones(opts);
  return vm.createDevice(KVM_DEV_TYPE_ARM_VGIC_V3, KVM_CREATE_DEVICE_TEST) === 0;
}

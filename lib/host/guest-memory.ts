// kvm_util.c's guest-memory helpers for ports that pass pointers as C does: vm_alloc_page()
// (vm_vaddr_alloc_page() in older trees), addr_gva2hva(), vcpu_args_set(), and the descriptor
// table setup. They all live in the library's default memslot (lib/kvm/guest-layout.ts), created
// on first use. Host code reads and writes guest memory through an Hva, the model of the host
// pointer addr_gva2hva() returns: `memcpy(hva, &args, sizeof(args))` becomes
// `hvaWriteStruct(hva, LAYOUT, args)`.

import { types } from 'node:util';
import type { CField, CStruct, CValues } from '../kvm/c-struct.ts';
import {
  DEFAULT_MEMSLOT,
  DEFAULT_MEMSLOT_GPA,
  DEFAULT_MEMSLOT_SIZE,
  GUEST_HEAP_GPA,
  GUEST_HEAP_PAGES,
  vcpuArgsKey,
} from '../kvm/guest-layout.ts';
import { GUEST_PAGE_SIZE } from '../kvm/memory.ts';
import type { KvmVcpu } from '../kvm/vcpu.ts';
import { KvmVm } from '../kvm/vm.ts';
import { errnoName } from '../uapi/errno.ts';
import { badArg, cInt, cU32, cU64Number, isInstance, objectArg, readProps, vcpuArg, vmArg } from './args.ts';
import { checkedStructValues, structArg } from './c-struct.ts';
import { testAssert } from './test-util.ts';

interface HeapState {
  nextPage: number;
}
const heaps = new WeakMap<KvmVm, HeapState>();

/** The library's memslot 0 (vm_create() makes it in C; here the first helper that needs it does). */
function defaultMemslot(vm: KvmVm): HeapState {
  let h = heaps.get(vm);
  if (!h) {
    const r = vm.setUserMemoryRegion(DEFAULT_MEMSLOT, DEFAULT_MEMSLOT_GPA, DEFAULT_MEMSLOT_SIZE);
    testAssert(r === 0, 'cannot create the default memslot %d at 0x%lx: %s', DEFAULT_MEMSLOT, DEFAULT_MEMSLOT_GPA, errnoName(-r));
    h = { nextPage: 0 };
    heaps.set(vm, h);
  }
  return h;
}

function allocPages(vm: KvmVm, nrPages: number): number {
  const h = defaultMemslot(vm);
  // nr_pages is an int; a negative one is a huge size_t in __vm_vaddr_alloc(): no memory for it.
  testAssert(nrPages >= 0 && h.nextPage + nrPages <= GUEST_HEAP_PAGES, 'No virtual memory available for %d pages', nrPages);
  const gva = GUEST_HEAP_GPA + h.nextPage * GUEST_PAGE_SIZE;
  h.nextPage += nrPages;
  return gva;
}

/** vm_alloc_pages(vm, n): zeroed, identity-mapped guest pages; returns the GVA. */
export function vmAllocPages(vm: KvmVm, nrPages: number): number {
  return allocPages(vmArg(vm, 'vmAllocPages'), cInt(nrPages, 'vmAllocPages', 'nrPages'));
}

/** vm_alloc_page(vm) */
export function vmAllocPage(vm: KvmVm): number {
  return allocPages(vmArg(vm, 'vmAllocPage'), 1);
}

/** vm_vaddr_alloc_page(vm): the name before the gva_t rename. */
export function vmVaddrAllocPage(vm: KvmVm): number {
  return allocPages(vmArg(vm, 'vmVaddrAllocPage'), 1);
}

/** A host pointer into guest memory (what addr_gva2hva() returns): the VM and the address. */
export interface Hva {
  readonly vm: KvmVm;
  readonly gpa: number;
}

/** addr_gpa2hva(vm, gpa): asserts the address is in a memslot. */
export function addrGpa2hva(vm: KvmVm, gpa: number): Hva {
  vmArg(vm, 'addrGpa2hva');
  return toHva(vm, cU64Number(gpa, 'addrGpa2hva', 'gpa'));
}

/** addr_gva2hva(vm, gva): guest addresses are identity-mapped. */
export function addrGva2hva(vm: KvmVm, gva: number | bigint): Hva {
  vmArg(vm, 'addrGva2hva');
  return toHva(vm, cU64Number(gva, 'addrGva2hva', 'gva'));
}

function toHva(vm: KvmVm, gpa: number): Hva {
  testAssert(vm.memory.isRam(gpa, 1), 'No vm physical memory at 0x%lx', gpa);
  return { vm, gpa };
}

/**
 * A host pointer argument: an Hva from addr_g*2hva, or one the port made from it (`{ ...hva,
 * gpa: hva.gpa + 8 }`, pointer arithmetic). Anything else would not compile as a pointer in C.
 */
function hvaArg(hva: unknown, fn: string): Hva {
  const want = 'a host pointer into guest memory (addrGva2hva())';
  const o = readProps(objectArg(hva, fn, 'hva'), ['vm', 'gpa'], fn, 'hva');
  if (!isInstance(o.vm, KvmVm)) badArg(fn, 'hva.vm', o.vm, `the VM of ${want}`);
  if (typeof o.gpa !== 'number' || !Number.isSafeInteger(o.gpa)) badArg(fn, 'hva.gpa', o.gpa, `the guest address of ${want}`);
  return { vm: o.vm, gpa: o.gpa };
}

/** A byte count kept as a JS number (size_t; -1 is 2^64-1, which no memory holds). */
function lenArg(len: unknown, fn: string): number {
  return cU64Number(len, fn, 'len');
}

function copyIn(h: Hva, bytes: Uint8Array): void {
  testAssert(h.vm.memory.isRam(h.gpa, bytes.length), 'No vm physical memory at 0x%lx', h.gpa);
  h.vm.memory.writeBytes(h.gpa, bytes);
}

function copyOut(h: Hva, len: number): Uint8Array {
  testAssert(Number.isSafeInteger(len) && h.vm.memory.isRam(h.gpa, len), 'No vm physical memory at 0x%lx', h.gpa);
  return h.vm.memory.readBytes(h.gpa, len);
}

/** memcpy(dst_hva, src, n) */
export function hvaWrite(hva: Hva, bytes: Uint8Array): void {
  const h = hvaArg(hva, 'hvaWrite');
  if (!types.isUint8Array(bytes)) badArg('hvaWrite', 'bytes', bytes, 'a Uint8Array');
  copyIn(h, bytes);
}

/** memcpy(dst, src_hva, n) */
export function hvaRead(hva: Hva, len: number): Uint8Array {
  return copyOut(hvaArg(hva, 'hvaRead'), lenArg(len, 'hvaRead'));
}

/** memcpy(hva, &v, sizeof(v)) for a C struct. */
export function hvaWriteStruct<F extends Record<string, CField>>(hva: Hva, layout: CStruct<F>, v: CValues<F>): void {
  const h = hvaArg(hva, 'hvaWriteStruct');
  const l = structArg<F>(layout, 'hvaWriteStruct', 'layout');
  copyIn(h, l.encode(checkedStructValues(l, v, 'hvaWriteStruct', 'v')));
}

/** memcpy(&v, hva, sizeof(v)) for a C struct. */
export function hvaReadStruct<F extends Record<string, CField>>(hva: Hva, layout: CStruct<F>): CValues<F> {
  const h = hvaArg(hva, 'hvaReadStruct');
  const l = structArg<F>(layout, 'hvaReadStruct', 'layout');
  return l.decode(copyOut(h, l.size));
}

/** vcpu_args_set(vcpu, num, ...): x0..x(num-1) for the guest (vcpuArgs(g) reads them). */
export function vcpuArgsSet(vcpu: KvmVcpu, num: number, ...args: Array<number | bigint>): void {
  const fn = 'vcpuArgsSet';
  vcpuArg(vcpu, fn);
  const n = cU32(num, fn, 'num');
  // The variadic arguments are uint64_t: a value C would not pass as one is a port bug.
  const values = args.map((a, i) => (typeof a === 'number' || typeof a === 'bigint' ? Number(a) : badArg(fn, `args[${i}]`, a, 'a number or bigint')));
  testAssert(n >= 1 && n <= 8, 'Unsupported number of args,\n  num: %u\n', n);
  testAssert(args.length === n, 'vcpu_args_set: %u arguments announced, %u given', n, args.length);
  defaultMemslot(vcpu.vm); // the stack the arguments point into
  vcpu.vm.guestGlobals.set(vcpuArgsKey(vcpu.id), values);
}

/** vm_init_descriptor_tables(vm): the vector table page. Handlers work without it here. */
export function vmInitDescriptorTables(vm: KvmVm): void {
  defaultMemslot(vmArg(vm, 'vmInitDescriptorTables'));
}

/** vcpu_init_descriptor_tables(vcpu): VBAR_EL1 and the exception stack; nothing more to do here. */
export function vcpuInitDescriptorTables(vcpu: KvmVcpu): void {
  defaultMemslot(vcpuArg(vcpu, 'vcpuInitDescriptorTables').vm);
}

// kvm_util.c's guest-memory helpers for ports that pass pointers as C does: vm_alloc_page()
// (vm_vaddr_alloc_page() in older trees), addr_gva2hva(), vcpu_args_set(), and the descriptor
// table setup. They all live in the library's default memslot (lib/kvm/guest-layout.ts), created
// on first use. Host code reads and writes guest memory through an Hva, the model of the host
// pointer addr_gva2hva() returns: `memcpy(hva, &args, sizeof(args))` becomes
// `hvaWriteStruct(hva, LAYOUT, args)`.

import { type CField, type CStruct, type CValues } from '../kvm/c-struct.ts';
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
import type { KvmVm } from '../kvm/vm.ts';
import { errnoName } from '../uapi/errno.ts';
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

/** vm_alloc_pages(vm, n): zeroed, identity-mapped guest pages; returns the GVA. */
export function vmAllocPages(vm: KvmVm, nrPages: number): number {
  const h = defaultMemslot(vm);
  testAssert(h.nextPage + nrPages <= GUEST_HEAP_PAGES, 'No virtual memory available for %d pages', nrPages);
  const gva = GUEST_HEAP_GPA + h.nextPage * GUEST_PAGE_SIZE;
  h.nextPage += nrPages;
  return gva;
}

/** vm_alloc_page(vm) */
export function vmAllocPage(vm: KvmVm): number {
  return vmAllocPages(vm, 1);
}

/** vm_vaddr_alloc_page(vm): the name before the gva_t rename. */
export const vmVaddrAllocPage = vmAllocPage;

/** A host pointer into guest memory (what addr_gva2hva() returns): the VM and the address. */
export interface Hva {
  readonly vm: KvmVm;
  readonly gpa: number;
}

/** addr_gpa2hva(vm, gpa): asserts the address is in a memslot. */
export function addrGpa2hva(vm: KvmVm, gpa: number): Hva {
  testAssert(vm.memory.isRam(gpa, 1), 'No vm physical memory at 0x%lx', gpa);
  return { vm, gpa };
}

/** addr_gva2hva(vm, gva): guest addresses are identity-mapped. */
export function addrGva2hva(vm: KvmVm, gva: number | bigint): Hva {
  return addrGpa2hva(vm, Number(gva));
}

/** memcpy(dst_hva, src, n) */
export function hvaWrite(hva: Hva, bytes: Uint8Array): void {
  testAssert(hva.vm.memory.isRam(hva.gpa, bytes.length), 'No vm physical memory at 0x%lx', hva.gpa);
  hva.vm.memory.writeBytes(hva.gpa, bytes);
}

/** memcpy(dst, src_hva, n) */
export function hvaRead(hva: Hva, len: number): Uint8Array {
  testAssert(hva.vm.memory.isRam(hva.gpa, len), 'No vm physical memory at 0x%lx', hva.gpa);
  return hva.vm.memory.readBytes(hva.gpa, len);
}

/** memcpy(hva, &v, sizeof(v)) for a C struct. */
export function hvaWriteStruct<F extends Record<string, CField>>(hva: Hva, layout: CStruct<F>, v: CValues<F>): void {
  hvaWrite(hva, layout.encode(v));
}

/** memcpy(&v, hva, sizeof(v)) for a C struct. */
export function hvaReadStruct<F extends Record<string, CField>>(hva: Hva, layout: CStruct<F>): CValues<F> {
  return layout.decode(hvaRead(hva, layout.size));
}

/** vcpu_args_set(vcpu, num, ...): x0..x(num-1) for the guest (vcpuArgs(g) reads them). */
export function vcpuArgsSet(vcpu: KvmVcpu, num: number, ...args: Array<number | bigint>): void {
  testAssert(num >= 1 && num <= 8, 'Unsupported number of args,\n  num: %u\n', num);
  testAssert(args.length === num, 'vcpu_args_set: %u arguments announced, %u given', num, args.length);
  defaultMemslot(vcpu.vm); // the stack the arguments point into
  vcpu.vm.guestGlobals.set(vcpuArgsKey(vcpu.id), args.map((a) => Number(a)));
}

/** vm_init_descriptor_tables(vm): the vector table page. Handlers work without it here. */
export function vmInitDescriptorTables(vm: KvmVm): void {
  defaultMemslot(vm);
}

/** vcpu_init_descriptor_tables(vcpu): VBAR_EL1 and the exception stack; nothing more to do here. */
export function vcpuInitDescriptorTables(vcpu: KvmVcpu): void {
  defaultMemslot(vcpu.vm);
}

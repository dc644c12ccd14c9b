// Where the selftest library puts guest memory it manages itself (kvm_util.c's memslot 0): the
// vCPU stacks that structs passed by address live on, and the pages vm_alloc_page() hands out.
// Guest addresses are identity-mapped, so a GVA is the GPA. The slot is created by the first
// lib/host call that needs it (vmAllocPage, vcpuArgsSet, vmInitDescriptorTables); 0x40000000 is
// above every vGIC frame the selftests place (GITS/GICD/GICR from 0x8000000) and below 32 bits.

/** The memslot number kvm_util.c uses for its default region. */
export const DEFAULT_MEMSLOT = 0;
export const DEFAULT_MEMSLOT_GPA = 0x4000_0000;
/** One stack page per possible vCPU id (KVM_MAX_VCPU_IDS = 512), then the page allocator's pages. */
export const GUEST_STACK_SIZE = 0x1000;
export const GUEST_STACKS_GPA = DEFAULT_MEMSLOT_GPA;
export const GUEST_HEAP_GPA = DEFAULT_MEMSLOT_GPA + 512 * GUEST_STACK_SIZE;
export const GUEST_HEAP_PAGES = 1024;
export const DEFAULT_MEMSLOT_SIZE = GUEST_HEAP_GPA + GUEST_HEAP_PAGES * 0x1000 - DEFAULT_MEMSLOT_GPA;

/** The initial stack pointer of a vCPU (the top of its stack page). */
export function guestStackTop(vcpuId: number): number {
  return GUEST_STACKS_GPA + (vcpuId + 1) * GUEST_STACK_SIZE;
}

/** Guest-global names the library keeps per vCPU: its argument registers and stack pointer. */
export const vcpuArgsKey = (vcpuId: number): string => `__vcpu_args@${vcpuId}`;
export const vcpuSpKey = (vcpuId: number): string => `__vcpu_sp@${vcpuId}`;

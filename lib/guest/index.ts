// The one entry point for guest code: the Guest API, the guest GIC library and constants.

export { Guest, type Access } from './guest.ts';
export * from './gic.ts';
export type { GuestProgram, GuestRequest, GuestReply } from '../kvm/guest-abi.ts';
export * from '../uapi/gic.ts';
export * from '../vgic/cpuif-regs.ts';
export * from './memory.ts';
export * from '../uapi/gic-intid.ts';
export * from '../vgic/timer-regs.ts';
export { CTL_ENABLE, CTL_IMASK, CTL_ISTATUS } from '../uapi/kvm-irq.ts';
export { cStruct, CStruct, type CField, type CValues } from '../kvm/c-struct.ts';
export * from './its.ts';
export * from '../uapi/its.ts';

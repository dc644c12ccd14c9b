// The one entry point a selftest's host side imports: kvm_util, vgic.c and test_util.h in
// camelCase, plus the uapi and GIC constants under their kernel names.

export * from '../uapi/errno.ts';
export * from '../uapi/kvm.ts';
export * from '../uapi/gic.ts';
export * from '../vgic/cpuif-regs.ts';
export { PROFILES, DEFAULT_PROFILE_NAME, type HostProfile } from '../vgic/profiles.ts';
export {
  UCALL_NONE,
  UCALL_SYNC,
  UCALL_ABORT,
  UCALL_PRINTF,
  UCALL_DONE,
  UCALL_UNHANDLED,
  type Ucall,
  type GuestProgram,
} from '../kvm/guest-abi.ts';
export { type VmOptions } from '../kvm/vm.ts';
export { formatPrintf } from '../kvm/printf.ts';
export * from './buffers.ts';
export * from './kvm-util.ts';
export * from './vgic.ts';
export * from './vgic-v5.ts';
export * from './test-util.ts';
export * from './selftest.ts';
export * from './threads.ts';
export * from '../uapi/kvm-irq.ts';
export * from '../uapi/gic-intid.ts';
export * from '../vgic/timer-regs.ts';
export * from './irq.ts';
export * from './guest-memory.ts';
export * from './getopt.ts';
export { cStruct, CStruct, type CField, type CValues } from './c-struct.ts';
export * from '../uapi/its.ts';
export * from './its.ts';
// The lower layers' helpers with lib/host's argument checks: these names shadow the same names
// of the `export *` lines above (reexports.ts says why).
export {
  KvmVm,
  KvmVcpu,
  KvmError,
  errnoCode,
  errnoName,
  strerror,
  fail,
  toRet,
  KVM_DEV_ARM_VGIC_SYSREG,
  gicdIidr,
  INTID_IS_SGI,
  INTID_IS_PPI,
  INTID_IS_SPI,
  gitsBaserType,
  gitsBaserEntrySize,
  gitsBaserNrPages,
  gicrPropbaserAddress,
  gicrPendbaserAddress,
  vcpuMpidr,
  maxAprIdx,
  readIccCtlr,
  hasCpuSysreg,
  cpuSysregGet,
  cpuSysregSet,
  sysregName,
  findProfile,
  resolveProfile,
} from './reexports.ts';

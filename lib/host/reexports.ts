// Host-level versions of the lower layers' helpers that lib/host/index.ts re-exports (errno, uapi
// encoders, ICC_* register access, host-kernel profiles, the vCPU MPIDR). The originals serve the
// model, which only passes them well-typed values; a port may pass anything, so each is wrapped
// with lib/host's argument rules (args.ts): a number or bigint goes in as C would convert it, a
// value C would not compile is a TestAssertionFailure naming the call and the parameter. For
// valid arguments each returns exactly what the original returns.

import { KvmVcpu as ModelVcpu, vcpuMpidr as kvmVcpuMpidr } from '../kvm/vcpu.ts';
import { KvmVm as ModelVm, type VmOptions } from '../kvm/vm.ts';
import { gicdIidr as uapiGicdIidr } from '../uapi/gic.ts';
import * as INTID from '../uapi/gic-intid.ts';
import * as ERRNO from '../uapi/errno.ts';
import { type ErrnoName, KvmError as UapiKvmError } from '../uapi/errno.ts';
import * as ITS from '../uapi/its.ts';
import { KVM_DEV_ARM_VGIC_SYSREG as uapiSysreg } from '../uapi/kvm.ts';
import * as CPUIF from '../vgic/cpuif-regs.ts';
import { type SysregResult } from '../vgic/cpuif-regs.ts';
import { type HostProfile, DEFAULT_PROFILE_NAME, PROFILES, findProfile as vgicFindProfile } from '../vgic/profiles.ts';
import { CpuIfState, VgicCpu, VgicDist } from '../vgic/state.ts';
import { badArg, cArith, cInt, cU32, cU64, fnArg, isInstance, stringArg, vmArg } from './args.ts';
import { vmOptions } from './vm-options.ts';

// --- errno ---------------------------------------------------------------------------------------

/** The errno names lib/uapi/errno.ts knows (each constant whose number names it back). */
const ERRNO_NAMES = new Set<string>(
  Object.entries(ERRNO).filter(([k, v]) => typeof v === 'number' && ERRNO.errnoName(v) === k).map(([k]) => k),
);

function errnoNameArg(v: unknown, fn: string, param: string): ErrnoName {
  return typeof v === 'string' && ERRNO_NAMES.has(v) ? (v as ErrnoName) : badArg(fn, param, v, `an errno name (${[...ERRNO_NAMES].join(', ')})`);
}

function detailArg(v: unknown, fn: string): string | undefined {
  return v === undefined || typeof v === 'string' ? v : badArg(fn, 'detail', v, 'a string or undefined');
}

/** An int errno: a number as it is (the original takes its absolute value), a bigint as C's int. */
function errnoNumberArg(v: unknown, fn: string): number {
  return typeof v === 'number' ? v : cInt(v, fn, 'code');
}

export function errnoCode(name: ErrnoName): number {
  return ERRNO.errnoCode(errnoNameArg(name, 'errnoCode', 'name'));
}

/** Name for a positive errno number, or `E<n>` when unknown. */
export function errnoName(code: number): string {
  return ERRNO.errnoName(errnoNumberArg(code, 'errnoName'));
}

export function strerror(code: number): string {
  return ERRNO.strerror(errnoNumberArg(code, 'strerror'));
}

/**
 * lib/uapi's KvmError with a checked constructor. Every KvmError the model throws is an instance
 * (`e instanceof KvmError` holds for them), and one built here is lib/uapi's too.
 */
export class KvmError extends UapiKvmError {
  constructor(errno: ErrnoName, detail?: string) {
    super(errnoNameArg(errno, 'KvmError', 'errno'), detailArg(detail, 'KvmError'));
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === KvmError ? isInstance(v, UapiKvmError) : Function.prototype[Symbol.hasInstance].call(this, v);
  }
}

/** Throw helper so call sites read like the kernel's `return -EINVAL;`. */
export function fail(errno: ErrnoName, detail?: string): never {
  return ERRNO.fail(errnoNameArg(errno, 'fail', 'errno'), detailArg(detail, 'fail'));
}

/** Run an ioctl body and turn a KvmError into -errno (the raw ioctl return convention). */
export function toRet(body: () => void): number {
  return ERRNO.toRet(fnArg(body, 'toRet', 'body'));
}

// --- uapi encoders -------------------------------------------------------------------------------
// Each does only bitwise arithmetic on its arguments (JavaScript's ToInt32/ToUint32, C's conversion
// for an int or u32), so a number goes in unchanged; a bigint is first taken as a u32.

const u32In = (v: unknown, fn: string, param: string): number => (typeof v === 'number' ? v : cU32(v, fn, param));

export function KVM_DEV_ARM_VGIC_SYSREG(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  const fn = 'KVM_DEV_ARM_VGIC_SYSREG';
  return uapiSysreg(u32In(op0, fn, 'op0'), u32In(op1, fn, 'op1'), u32In(crn, fn, 'crn'), u32In(crm, fn, 'crm'), u32In(op2, fn, 'op2'));
}

export function gicdIidr(rev: number): number {
  return uapiGicdIidr(u32In(rev, 'gicdIidr', 'rev'));
}

// The INTID_IS_* macros compare their argument as its own type: a number or bigint as it is.

/** INTID_IS_SGI(intid): 0 <= intid < MIN_PPI */
export function INTID_IS_SGI(intid: number): boolean {
  return INTID.INTID_IS_SGI(cArith(intid, 'INTID_IS_SGI', 'intid') as number);
}
/** INTID_IS_PPI(intid): MIN_PPI <= intid < MIN_SPI */
export function INTID_IS_PPI(intid: number): boolean {
  return INTID.INTID_IS_PPI(cArith(intid, 'INTID_IS_PPI', 'intid') as number);
}
/** INTID_IS_SPI(intid): MIN_SPI <= intid <= MAX_SPI */
export function INTID_IS_SPI(intid: number): boolean {
  return INTID.INTID_IS_SPI(cArith(intid, 'INTID_IS_SPI', 'intid') as number);
}

// The GITS_BASER / GICR_*BASER field macros take a u64 register value: a bigint as it is, a number
// as C converts it to u64.

const u64In = (v: unknown, fn: string, param: string): bigint => (typeof v === 'bigint' ? v : cU64(v, fn, param));

/** GITS_BASER_TYPE(r) */
export const gitsBaserType = (r: bigint): number => ITS.gitsBaserType(u64In(r, 'gitsBaserType', 'r'));
/** GITS_BASER_ENTRY_SIZE(r): entry size in bytes. */
export const gitsBaserEntrySize = (r: bigint): number => ITS.gitsBaserEntrySize(u64In(r, 'gitsBaserEntrySize', 'r'));
/** GITS_BASER_NR_PAGES(r) */
export const gitsBaserNrPages = (r: bigint): number => ITS.gitsBaserNrPages(u64In(r, 'gitsBaserNrPages', 'r'));
/** GICR_PROPBASER_ADDRESS(x): bits [51:12]. */
export const gicrPropbaserAddress = (x: bigint): bigint => ITS.gicrPropbaserAddress(u64In(x, 'gicrPropbaserAddress', 'x'));
/** GICR_PENDBASER_ADDRESS(x): bits [51:16]. */
export const gicrPendbaserAddress = (x: bigint): bigint => ITS.gicrPendbaserAddress(u64In(x, 'gicrPendbaserAddress', 'x'));

/** The MPIDR KVM gives vCPU `id` (reset_mpidr): a u32 id. */
export function vcpuMpidr(id: number): number {
  return kvmVcpuMpidr(u32In(id, 'vcpuMpidr', 'id'));
}

// --- the model's VM and vCPU classes ---------------------------------------------------------------
// Ports get VMs and vCPUs from vmCreate*() and vmVcpuAdd(); the classes are exported for types and
// instanceof. Constructing one directly checks its arguments like vmCreateBarebones() does.

/** The model's VM (lib/kvm/vm.ts); `new KvmVm(opts)` checks opts as vmCreate*() do. */
export class KvmVm extends ModelVm {
  constructor(opts: VmOptions = {}) {
    super(vmOptions(opts, 'KvmVm'));
  }

  /** Every VM is one, whoever made it (vmCreate*() make lib/kvm's). */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === KvmVm ? isInstance(v, ModelVm) : Function.prototype[Symbol.hasInstance].call(this, v);
  }
}

/** The model's vCPU (lib/kvm/vcpu.ts); its constructor's arguments checked. */
export class KvmVcpu extends ModelVcpu {
  constructor(vm: ModelVm, id: number, idx: number, vgic: VgicCpu) {
    const fn = 'KvmVcpu';
    super(vmArg(vm, fn), cU32(id, fn, 'id'), cU32(idx, fn, 'idx'), vgicCpuArg(vgic, fn));
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return this === KvmVcpu ? isInstance(v, ModelVcpu) : Function.prototype[Symbol.hasInstance].call(this, v);
  }
}

// --- ICC_* registers through the model's CPU interface --------------------------------------------

function distArg(v: unknown, fn: string): VgicDist {
  return isInstance(v, VgicDist) ? v : badArg(fn, 'dist', v, 'a vGIC distributor (vm.dist)');
}
function vgicCpuArg(v: unknown, fn: string): VgicCpu {
  return isInstance(v, VgicCpu) ? v : badArg(fn, 'vcpu', v, "a vGIC CPU (a vCPU's .vgic)");
}

export function maxAprIdx(numPriBits: number): number {
  return CPUIF.maxAprIdx(u32In(numPriBits, 'maxAprIdx', 'numPriBits'));
}

/** ICC_CTLR_EL1 as both userspace and the guest read it. */
export function readIccCtlr(dist: VgicDist, c: CpuIfState): number {
  const fn = 'readIccCtlr';
  if (!isInstance(c, CpuIfState)) badArg(fn, 'c', c, "a CPU interface state (a vCPU's .vgic.cpuif)");
  return CPUIF.readIccCtlr(distArg(dist, fn), c);
}

export function hasCpuSysreg(encoding: number): number {
  return CPUIF.hasCpuSysreg(u32In(encoding, 'hasCpuSysreg', 'encoding'));
}

export function cpuSysregGet(dist: VgicDist, vcpu: VgicCpu, encoding: number): SysregResult {
  const fn = 'cpuSysregGet';
  return CPUIF.cpuSysregGet(distArg(dist, fn), vgicCpuArg(vcpu, fn), u32In(encoding, fn, 'encoding'));
}

export function cpuSysregSet(dist: VgicDist, vcpu: VgicCpu, encoding: number, value: bigint): number {
  const fn = 'cpuSysregSet';
  return CPUIF.cpuSysregSet(distArg(dist, fn), vgicCpuArg(vcpu, fn), u32In(encoding, fn, 'encoding'), u64In(value, fn, 'value'));
}

export function sysregName(encoding: number): string {
  return CPUIF.sysregName(u32In(encoding, 'sysregName', 'encoding'));
}

// --- host-kernel profiles ---------------------------------------------------------------------------

export function findProfile(name: string): HostProfile | undefined {
  return vgicFindProfile(stringArg(name, 'findProfile', 'name'));
}

/**
 * The profile for a new VM: explicit name, else $VGIC_PROFILE, else the default. An unknown name
 * is a port bug here (lib/vgic's RangeError becomes a TestAssertionFailure naming the profiles).
 */
export function resolveProfile(name?: string): HostProfile {
  const fn = 'resolveProfile';
  if (name !== undefined) stringArg(name, fn, 'name');
  const wanted = name ?? process.env.VGIC_PROFILE ?? DEFAULT_PROFILE_NAME;
  return vgicFindProfile(wanted) ?? badArg(fn, name === undefined ? '$VGIC_PROFILE' : 'name', wanted, `a host-kernel profile (${PROFILES.map((p) => p.name).join(', ')})`);
}

// GICv3 CPU interface registers: the ICC_* encodings, the userspace CPU_SYSREGS table
// (vgic-sys-reg-v3.c: gic_v3_icc_reg_descs) and the simple guest-visible ICV registers.

import { EINVAL, ENOENT, ENXIO } from '../uapi/errno.ts';
import { KVM_DEV_ARM_VGIC_SYSREG } from '../uapi/kvm.ts';
import type { CpuIfState, VgicCpu, VgicDist } from './state.ts';

const icc = (crn: number, crm: number, op2: number): number => KVM_DEV_ARM_VGIC_SYSREG(3, 0, crn, crm, op2);
const ich = (crn: number, crm: number, op2: number): number => KVM_DEV_ARM_VGIC_SYSREG(3, 4, crn, crm, op2);

export const ICC_PMR_EL1 = icc(4, 6, 0);
export const ICC_IAR0_EL1 = icc(12, 8, 0);
export const ICC_EOIR0_EL1 = icc(12, 8, 1);
export const ICC_HPPIR0_EL1 = icc(12, 8, 2);
export const ICC_BPR0_EL1 = icc(12, 8, 3);
export const ICC_AP0R0_EL1 = icc(12, 8, 4);
export const ICC_AP0R1_EL1 = icc(12, 8, 5);
export const ICC_AP0R2_EL1 = icc(12, 8, 6);
export const ICC_AP0R3_EL1 = icc(12, 8, 7);
export const ICC_AP1R0_EL1 = icc(12, 9, 0);
export const ICC_AP1R1_EL1 = icc(12, 9, 1);
export const ICC_AP1R2_EL1 = icc(12, 9, 2);
export const ICC_AP1R3_EL1 = icc(12, 9, 3);
export const ICC_DIR_EL1 = icc(12, 11, 1);
export const ICC_RPR_EL1 = icc(12, 11, 3);
export const ICC_SGI1R_EL1 = icc(12, 11, 5);
export const ICC_ASGI1R_EL1 = icc(12, 11, 6);
export const ICC_SGI0R_EL1 = icc(12, 11, 7);
export const ICC_IAR1_EL1 = icc(12, 12, 0);
export const ICC_EOIR1_EL1 = icc(12, 12, 1);
export const ICC_HPPIR1_EL1 = icc(12, 12, 2);
export const ICC_BPR1_EL1 = icc(12, 12, 3);
export const ICC_CTLR_EL1 = icc(12, 12, 4);
export const ICC_SRE_EL1 = icc(12, 12, 5);
export const ICC_IGRPEN0_EL1 = icc(12, 12, 6);
export const ICC_IGRPEN1_EL1 = icc(12, 12, 7);

// EL2 view (only with nested virt, which the model does not provide)
export const ICH_AP0R0_EL2 = ich(12, 8, 0);
export const ICH_AP1R0_EL2 = ich(12, 9, 0);
export const ICC_SRE_EL2 = ich(12, 9, 5);
export const ICH_HCR_EL2 = ich(12, 11, 0);
export const ICH_VTR_EL2 = ich(12, 11, 1);
export const ICH_VMCR_EL2 = ich(12, 11, 7);
export const ICH_LR0_EL2 = ich(12, 12, 0);

export const ICC_CTLR_EL1_CBPR = 1 << 0;
export const ICC_CTLR_EL1_EOImode = 1 << 1;
export const ICC_CTLR_EL1_PRI_BITS_SHIFT = 8;
export const ICC_CTLR_EL1_PRI_BITS_MASK = 7 << 8;
export const ICC_CTLR_EL1_ID_BITS_SHIFT = 11;
export const ICC_CTLR_EL1_ID_BITS_MASK = 7 << 11;
export const ICC_CTLR_EL1_SEIS = 1 << 14;
export const ICC_CTLR_EL1_A3V = 1 << 15;
export const ICC_SRE_EL1_SRE = 1;

/** vgic_v3_max_apr_idx() (vgic.h): how many APnR registers the priority bits need. */
export function maxAprIdx(numPriBits: number): number {
  if (numPriBits === 7) return 3;
  if (numPriBits === 6) return 1;
  return 0;
}

/**
 * ICC_CTLR_EL1 as userspace reads it (vgic-sys-reg-v3.c: get_gic_ctlr: PRIbits/IDbits from
 * vgic_cpu.num_pri_bits/num_id_bits) or, with `guest`, as the guest's ICV_CTLR_EL1 shows it:
 * the hardware's PRIbits/IDbits (measured on real KVM under QEMU: 0x8c00 after userspace
 * lowered num_pri_bits).
 */
export function readIccCtlr(dist: VgicDist, c: CpuIfState, guest = false): number {
  const pri = guest ? c.hwPriBits : c.numPriBits;
  const id = guest ? c.hwIdBits : c.numIdBits;
  let v = ((pri - 1) << ICC_CTLR_EL1_PRI_BITS_SHIFT) | (id << ICC_CTLR_EL1_ID_BITS_SHIFT);
  if (dist.caps.seis) v |= ICC_CTLR_EL1_SEIS;
  if (dist.caps.a3v) v |= ICC_CTLR_EL1_A3V;
  v |= c.cbpr ? ICC_CTLR_EL1_CBPR : 0;
  v |= c.eoimode ? ICC_CTLR_EL1_EOImode : 0;
  return v >>> 0;
}

/** Result of a userspace CPU_SYSREGS access: 0 or -errno, and the value for a read. */
export interface SysregResult {
  ret: number;
  value: bigint;
}

interface SysregDesc {
  readonly name: string;
  readonly encoding: number;
  get(dist: VgicDist, vcpu: VgicCpu): SysregResult;
  set(dist: VgicDist, vcpu: VgicCpu, v: bigint): number;
}

const ok = (v: number): SysregResult => ({ ret: 0, value: BigInt(v >>> 0) });
const low = (v: bigint): number => Number(v & 0xffffffffn);

/** set_gic_ctlr(): PRIbits/IDbits may only be lowered, SEIS/A3V must match the host. */
function setCtlr(dist: VgicDist, vcpu: VgicCpu, v: bigint): number {
  const c = vcpu.cpuif;
  const val = low(v);
  const priBits = ((val & ICC_CTLR_EL1_PRI_BITS_MASK) >>> ICC_CTLR_EL1_PRI_BITS_SHIFT) + 1;
  if (priBits > c.numPriBits) return -EINVAL;
  c.numPriBits = priBits;
  const idBits = (val & ICC_CTLR_EL1_ID_BITS_MASK) >>> ICC_CTLR_EL1_ID_BITS_SHIFT;
  if (idBits > c.numIdBits) return -EINVAL;
  c.numIdBits = idBits;
  if (((val & ICC_CTLR_EL1_SEIS) !== 0) !== dist.caps.seis) return -EINVAL;
  if (((val & ICC_CTLR_EL1_A3V) !== 0) !== dist.caps.a3v) return -EINVAL;
  c.cbpr = val & ICC_CTLR_EL1_CBPR ? 1 : 0;
  c.eoimode = val & ICC_CTLR_EL1_EOImode ? 1 : 0;
  return 0;
}

function apr(group: 0 | 1, n: number): SysregDesc {
  const encoding = group === 0 ? ICC_AP0R0_EL1 + n : ICC_AP1R0_EL1 + n;
  const bank = (vcpu: VgicCpu): number[] => (group === 0 ? vcpu.cpuif.ap0r : vcpu.cpuif.ap1r);
  return {
    name: `ICC_AP${group}R${n}_EL1`,
    encoding,
    // get_apr_reg/set_apr_reg: beyond vgic_v3_max_apr_idx() the register is "advertised but unusable"
    get: (_d, vcpu) => (n > maxAprIdx(vcpu.cpuif.numPriBits) ? { ret: -EINVAL, value: 0n } : ok(bank(vcpu)[n]!)),
    set: (_d, vcpu, v) => {
      if (n > maxAprIdx(vcpu.cpuif.numPriBits)) return -EINVAL;
      bank(vcpu)[n] = low(v);
      return 0;
    },
  };
}

/** gic_v3_icc_reg_descs, in the kernel's order. */
export const ICC_SYSREGS: readonly SysregDesc[] = [
  {
    name: 'ICC_PMR_EL1',
    encoding: ICC_PMR_EL1,
    get: (_d, v) => ok(v.cpuif.pmr),
    set: (_d, v, x) => ((v.cpuif.pmr = low(x) & 0xff), 0),
  },
  {
    name: 'ICC_BPR0_EL1',
    encoding: ICC_BPR0_EL1,
    get: (_d, v) => ok(v.cpuif.bpr0),
    set: (_d, v, x) => ((v.cpuif.bpr0 = low(x) & 7), 0),
  },
  apr(0, 0),
  apr(0, 1),
  apr(0, 2),
  apr(0, 3),
  apr(1, 0),
  apr(1, 1),
  apr(1, 2),
  apr(1, 3),
  {
    name: 'ICC_BPR1_EL1',
    encoding: ICC_BPR1_EL1,
    // With CBPR set, BPR1 is BPR0 + 1 (saturating) and writes are ignored.
    get: (_d, v) => ok(v.cpuif.cbpr ? Math.min(v.cpuif.bpr0 + 1, 7) : v.cpuif.bpr1),
    set: (_d, v, x) => {
      if (!v.cpuif.cbpr) v.cpuif.bpr1 = low(x) & 7;
      return 0;
    },
  },
  {
    name: 'ICC_CTLR_EL1',
    encoding: ICC_CTLR_EL1,
    get: (d, v) => ok(readIccCtlr(d, v.cpuif)),
    set: setCtlr,
  },
  {
    name: 'ICC_SRE_EL1',
    encoding: ICC_SRE_EL1,
    get: (_d, v) => ok(v.cpuif.sre),
    set: (_d, _v, x) => ((x & BigInt(ICC_SRE_EL1_SRE)) === 0n ? -EINVAL : 0),
  },
  {
    name: 'ICC_IGRPEN0_EL1',
    encoding: ICC_IGRPEN0_EL1,
    get: (_d, v) => ok(v.cpuif.igrpen0),
    set: (_d, v, x) => ((v.cpuif.igrpen0 = low(x) & 1), 0),
  },
  {
    name: 'ICC_IGRPEN1_EL1',
    encoding: ICC_IGRPEN1_EL1,
    get: (_d, v) => ok(v.cpuif.igrpen1),
    set: (_d, v, x) => ((v.cpuif.igrpen1 = low(x) & 1), 0),
  },
];

const BY_ENCODING = new Map(ICC_SYSREGS.map((d) => [d.encoding, d]));

/** vgic_v3_has_cpu_sysregs_attr(): EL1 registers only (EL2 ones are hidden without NV). */
export function hasCpuSysreg(encoding: number): number {
  return BY_ENCODING.has(encoding) ? 0 : -ENXIO;
}

/** vgic_v3_cpu_sysregs_uaccess(): unknown or hidden encodings give ENOENT (kvm_sys_reg_get_user). */
export function cpuSysregGet(dist: VgicDist, vcpu: VgicCpu, encoding: number): SysregResult {
  const d = BY_ENCODING.get(encoding);
  return d ? d.get(dist, vcpu) : { ret: -ENOENT, value: 0n };
}

export function cpuSysregSet(dist: VgicDist, vcpu: VgicCpu, encoding: number, value: bigint): number {
  const d = BY_ENCODING.get(encoding);
  return d ? d.set(dist, vcpu, value) : -ENOENT;
}

export function sysregName(encoding: number): string {
  return BY_ENCODING.get(encoding)?.name ?? `sysreg(0x${encoding.toString(16)})`;
}

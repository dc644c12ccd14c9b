// Generic timer system register encodings (Op0=3, Op1=3, CRn=14), in the form the guest sysreg
// dispatch uses (Op0<<14 | Op1<<11 | CRn<<7 | CRm<<3 | Op2), and the emulated counter frequency.

import { KVM_DEV_ARM_VGIC_SYSREG } from '../uapi/kvm.ts';

const cnt = (crm: number, op2: number): number => KVM_DEV_ARM_VGIC_SYSREG(3, 3, 14, crm, op2);

export const CNTFRQ_EL0 = cnt(0, 0);
export const CNTPCT_EL0 = cnt(0, 1);
export const CNTVCT_EL0 = cnt(0, 2);
export const CNTP_TVAL_EL0 = cnt(2, 0);
export const CNTP_CTL_EL0 = cnt(2, 1);
export const CNTP_CVAL_EL0 = cnt(2, 2);
export const CNTV_TVAL_EL0 = cnt(3, 0);
export const CNTV_CTL_EL0 = cnt(3, 1);
export const CNTV_CVAL_EL0 = cnt(3, 2);

/**
 * CNTFRQ_EL0 of the emulated host (25 MHz, as many Arm server hosts report). The counter itself
 * is deterministic: one tick per guest access of any vCPU of the VM (arch-timer.ts), so a
 * "millisecond" is 25,000 guest accesses.
 */
export const EMULATED_CNTFRQ = 25_000_000;

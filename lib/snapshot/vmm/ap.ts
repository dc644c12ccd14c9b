// Which ICC_AP{0,1}R<n>_EL1 registers a VMM touches, from ICC_CTLR_EL1.PRIbits (+1 = P).
// KVM only lets userspace reach indices up to vgic_v3_max_apr_idx() (vgic-sys-reg-v3.c:
// get_apr_reg/set_apr_reg return -EINVAL beyond it), so both VMMs size the bank from P.

import { ICC_CTLR_EL1_PRI_BITS_MASK, ICC_CTLR_EL1_PRI_BITS_SHIFT } from '../../host/index.ts';

export interface ApReg {
  readonly name: string;
  readonly group: 0 | 1;
  readonly n: number;
  /** False where Firecracker records None (the register does not exist for this P). */
  readonly available: boolean;
}

export function priBits(iccCtlr: bigint): number {
  return ((Number(iccCtlr & 0xffffn) & ICC_CTLR_EL1_PRI_BITS_MASK) >>> ICC_CTLR_EL1_PRI_BITS_SHIFT) + 1;
}

const reg = (group: 0 | 1, n: number, available = true): ApReg => ({ name: `ICC_AP${group}R${n}_EL1`, group, n, available });

/** kvm_arm_gicv3_get/put: `switch (num_pri_bits)` with fall-through, 7 → 3,2,1,0; 6 → 1,0; else 0. */
export function qemuApOrder(iccCtlr: bigint): ApReg[] {
  const p = priBits(iccCtlr);
  const idx = p === 7 ? [3, 2, 1, 0] : p === 6 ? [1, 0] : [0];
  return [...idx.map((n) => reg(0, n)), ...idx.map((n) => reg(1, n))];
}

/** icc_regs.rs is_ap_reg_available(): R1 needs P >= 6, R2 and R3 need P == 7; AP0R0..3 then AP1R0..3. */
export function firecrackerApOrder(iccCtlr: bigint): ApReg[] {
  const p = priBits(iccCtlr);
  const avail = (n: number): boolean => (n === 0 ? true : n === 1 ? p >= 6 : p === 7);
  const out: ApReg[] = [];
  for (const g of [0, 1] as const) for (let n = 0; n < 4; n++) out.push(reg(g, n, avail(n)));
  return out;
}

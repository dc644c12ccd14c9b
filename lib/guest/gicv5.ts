// The guest side of GICv5 (tools/testing/selftests/kvm/include/arm64/gic_v5.h) as generator
// helpers: `yield* gicv5CpuEnableInterrupts(g)`, `const ia = yield* gicrInsn(g, 'CDIA')`.
// GIC/GICR system instructions go through the same request as system registers, by encoding
// (sys_insn(1, 0, 12, CRm, op2)); GSB barriers are writes of xzr.

import type { GuestProgram, GuestReply, GuestRequest } from '../kvm/guest-abi.ts';
import {
  GICV5_GICR_CDIA_INTID_MASK,
  GICV5_GICR_CDIA_VALID,
  GICV5_IRQ_DEFAULT_PRI,
  GICV5_OP_GICR_CDIA,
  GICV5_OP_GICR_CDNMIA,
  GICV5_OP_GIC_CDAFF,
  GICV5_OP_GIC_CDDI,
  GICV5_OP_GIC_CDDIS,
  GICV5_OP_GIC_CDEN,
  GICV5_OP_GIC_CDEOI,
  GICV5_OP_GIC_CDHM,
  GICV5_OP_GIC_CDPEND,
  GICV5_OP_GIC_CDPRI,
  GICV5_OP_GIC_CDRCFG,
  GICV5_OP_GSB_ACK,
  GICV5_OP_GSB_SYS,
  ICC_CR0_EL1,
  ICC_CR0_EL1_EN,
  ICC_PCR_EL1,
  ICC_PPI_ENABLER0_EL1,
  ICC_PPI_ENABLER1_EL1,
  ICC_PPI_PRIORITYR_EL1,
} from '../uapi/gicv5.ts';
import type { Guest } from './guest.ts';

const GIC_INSNS = {
  CDAFF: GICV5_OP_GIC_CDAFF,
  CDDI: GICV5_OP_GIC_CDDI,
  CDDIS: GICV5_OP_GIC_CDDIS,
  CDHM: GICV5_OP_GIC_CDHM,
  CDEN: GICV5_OP_GIC_CDEN,
  CDEOI: GICV5_OP_GIC_CDEOI,
  CDPEND: GICV5_OP_GIC_CDPEND,
  CDPRI: GICV5_OP_GIC_CDPRI,
  CDRCFG: GICV5_OP_GIC_CDRCFG,
} as const;
const GICR_INSNS = { CDIA: GICV5_OP_GICR_CDIA, CDNMIA: GICV5_OP_GICR_CDNMIA } as const;

export type GicInsn = keyof typeof GIC_INSNS;
export type GicrInsn = keyof typeof GICR_INSNS;

/** gic_insn(v, insn): a GIC CD* instruction with operand v. */
export function* gicInsn(g: Guest, v: number | bigint, insn: GicInsn): GuestProgram {
  yield* g.writeSysreg(GIC_INSNS[insn], v);
}

/** gicr_insn(insn): a GICR CD* instruction's result. */
export function* gicrInsn(g: Guest, insn: GicrInsn): Generator<GuestRequest, bigint, GuestReply> {
  return yield* g.readSysreg(GICR_INSNS[insn]);
}

/** gsb_ack() / gsb_sys() */
export function* gsbAck(g: Guest): GuestProgram {
  yield* g.writeSysreg(GICV5_OP_GSB_ACK, 0);
}
export function* gsbSys(g: Guest): GuestProgram {
  yield* g.writeSysreg(GICV5_OP_GSB_SYS, 0);
}

/** GICV5_GICR_CDIA_VALID(r) */
export const GICV5_GICR_CDIA_VALID_OF = (ia: bigint): boolean => (ia & GICV5_GICR_CDIA_VALID) !== 0n;
/** FIELD_GET(GICV5_GICR_CDIA_INTID, ia) */
export const GICV5_GICR_CDIA_INTID_OF = (ia: bigint): number => Number(ia & GICV5_GICR_CDIA_INTID_MASK);

/** REPEAT_BYTE(x) */
const repeatByte = (x: number): bigint => 0x0101010101010101n * BigInt(x & 0xff);

/** gicv5_ppi_priority_init(): every PPI at GICV5_IRQ_DEFAULT_PRI, then isb(). */
export function* gicv5PpiPriorityInit(g: Guest): GuestProgram {
  for (let n = 0; n < 16; n++) yield* g.writeSysreg(ICC_PPI_PRIORITYR_EL1(n), repeatByte(GICV5_IRQ_DEFAULT_PRI));
  yield* g.isb();
}

/** gicv5_cpu_disable_interrupts() */
export function* gicv5CpuDisableInterrupts(g: Guest): GuestProgram {
  yield* g.writeSysreg(ICC_CR0_EL1, 0);
}

/** gicv5_cpu_enable_interrupts(): PPIs disabled, default priorities, PCR, then ICC_CR0_EL1.EN. */
export function* gicv5CpuEnableInterrupts(g: Guest): GuestProgram {
  yield* g.writeSysreg(ICC_PPI_ENABLER0_EL1, 0);
  yield* g.writeSysreg(ICC_PPI_ENABLER1_EL1, 0);
  yield* gicv5PpiPriorityInit(g);
  yield* g.writeSysreg(ICC_PCR_EL1, GICV5_IRQ_DEFAULT_PRI);
  yield* g.writeSysreg(ICC_CR0_EL1, ICC_CR0_EL1_EN);
}

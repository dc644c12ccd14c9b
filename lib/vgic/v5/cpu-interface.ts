// The GICv5 CPU interface of a vCPU: which interrupt is signalled, what wakes a WFI, the
// ICC_* registers and the GIC/GICR system instructions a guest uses (as a table by encoding),
// and the userspace CPU_SYSREGS group.
//
// On hardware most of this is the GICv5 virtual CPU interface, not KVM code: PPI enable writes
// trap (sys_regs.c: access_gicv5_ppi_enabler), ICC_IDR0_EL1 and ICC_IAFFIDR_EL1 trap
// (access_gicv5_idr0, access_gicv5_iaffid), everything else reaches the hardware, which KVM
// feeds from its PPI state (vgic-v5.c: vgic_v5_flush_ppi_state / vgic_v5_fold_ppi_state) and the
// host IRS's ISTs. The priority rules follow vgic-v5.c: vgic_v5_get_effective_priority_mask and
// vgic_v5_has_pending_ppi.

import { ENOENT, ENXIO } from '../../uapi/errno.ts';
import {
  GICV5_GICR_CDIA_VALID,
  GICV5_GIC_CDAFF_IAFFID_SHIFT,
  GICV5_GIC_CDAFF_IRM,
  GICV5_GIC_CDHM_HM,
  GICV5_GIC_CDPEND_PENDING,
  GICV5_GIC_CDPRI_PRIORITY_SHIFT,
  GICV5_HWIRQ_TYPE_LPI,
  GICV5_HWIRQ_TYPE_PPI,
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
  ICC_APR_EL1,
  ICC_CR0_EL1,
  ICC_HPPIR_EL1,
  ICC_HPPIR_EL1_HPPIV,
  ICC_IAFFIDR_EL1,
  ICC_ICSR_EL1,
  ICC_ICSR_EL1_ACTIVE,
  ICC_ICSR_EL1_ENABLED,
  ICC_ICSR_EL1_F,
  ICC_ICSR_EL1_HM,
  ICC_ICSR_EL1_IAFFID_SHIFT,
  ICC_ICSR_EL1_IRM,
  ICC_ICSR_EL1_PENDING,
  ICC_ICSR_EL1_PRIORITY_SHIFT,
  ICC_IDR0_EL1,
  ICC_IDR0_EL1_ID_BITS_16BITS,
  ICC_IDR0_EL1_PRI_BITS_SHIFT,
  ICC_PCR_EL1,
  ICC_PPI_CACTIVER0_EL1,
  ICC_PPI_CACTIVER1_EL1,
  ICC_PPI_CPENDR0_EL1,
  ICC_PPI_CPENDR1_EL1,
  ICC_PPI_ENABLER0_EL1,
  ICC_PPI_ENABLER1_EL1,
  ICC_PPI_HMR0_EL1,
  ICC_PPI_HMR1_EL1,
  ICC_PPI_PRIORITYR_EL1,
  ICC_PPI_SACTIVER0_EL1,
  ICC_PPI_SACTIVER1_EL1,
  ICC_PPI_SPENDR0_EL1,
  ICC_PPI_SPENDR1_EL1,
  VGIC_V5_NR_PRIVATE_IRQS,
} from '../../uapi/gicv5.ts';
import type { VgicCpu } from '../state.ts';
import type { V5Irq } from './irq.ts';
import type { Gicv5Vgic, V5Cpu } from './vgic.ts';

/** vgic_v5_reset(): "The GICv5 architecture only supports 5-bits of priority in the CPUIF". */
const V5_CPUIF_PRI_BITS = 5;
const ICSR_MASK = ICC_ICSR_EL1_F | ICC_ICSR_EL1_ENABLED | ICC_ICSR_EL1_PENDING | ICC_ICSR_EL1_IRM | ICC_ICSR_EL1_ACTIVE | ICC_ICSR_EL1_HM | (0x1fn << ICC_ICSR_EL1_PRIORITY_SHIFT) | (0xffffn << ICC_ICSR_EL1_IAFFID_SHIFT);

// --- delivery --------------------------------------------------------------------------------------

/**
 * vgic_v5_get_effective_priority_mask(): 0 (nothing passes) while ICC_CR0_EL1.EN is clear;
 * otherwise the lower of the highest active priority (lowest set APR bit, 32 if none) and
 * PCR + 1. An interrupt is signalled if its priority is below the mask.
 */
function priorityMask(c: V5Cpu): number {
  if (!c.en) return 0;
  const apr = c.apr >>> 0;
  const highestActive = apr ? 31 - Math.clz32(apr & -apr) : 32;
  return Math.min(highestActive, c.pcr + 1);
}

/** The IRS keeps only its implemented priority bits (IRS_IDR1.PRIORITY_BITS + 1); the rest RAZ. */
function irsPriority(v5: Gicv5Vgic, prio: number): number {
  const bits = v5.irs.idr1PriorityBits + 1;
  return prio & ((0x1f << (5 - bits)) & 0x1f);
}

function forEachCandidate(v5: Gicv5Vgic, vcpu: VgicCpu, fn: (irq: V5Irq) => void): void {
  const c = v5.cpu(vcpu);
  const mask = v5.vgicPpiMask;
  for (let i = 0; i < VGIC_V5_NR_PRIVATE_IRQS; i++) if ((mask >> BigInt(i)) & 1n) fn(c.ppis[i]!);
  // SPIs and LPIs reach a vPE through the IRS, which the guest enables with IRS_CR0.IRSEN.
  if (!v5.irsEnabled) return;
  const id = vcpu.vcpuId;
  if (v5.lpis && v5.irs.istBaser.valid) for (const irq of v5.lpis) if (irq.iaffid === id) fn(irq);
  for (const irq of v5.spis) if (irq.iaffid === id) fn(irq);
}

/** The highest-priority pending, enabled, inactive interrupt below `mask` (any if mask < 0). */
export function highestPending(v5: Gicv5Vgic, vcpu: VgicCpu, mask: number): V5Irq | null {
  let best: V5Irq | null = null;
  forEachCandidate(v5, vcpu, (irq) => {
    if (!irq.enabled || irq.active || !irq.isPending()) return;
    if (mask >= 0 && irq.priority >= mask) return;
    if (!best || irq.priority < best.priority) best = irq;
  });
  return best;
}

/** An IRQ is signalled to the vCPU (vgic_v5_has_pending_ppi, and the IRS for SPIs/LPIs). */
export function v5IrqSignalled(v5: Gicv5Vgic, vcpu: VgicCpu): boolean {
  const mask = priorityMask(v5.cpu(vcpu));
  return mask > 0 && highestPending(v5, vcpu, mask) !== null;
}

/** kvm_vgic_vcpu_pending_irq() for GICv5: the same test; with CR0.EN clear nothing wakes a WFI. */
export const v5WfiWakeup = v5IrqSignalled;

/** GICR CDIA: acknowledge the highest-priority signalled interrupt; VALID | IntID, or 0. */
export function acknowledge(v5: Gicv5Vgic, vcpu: VgicCpu): bigint {
  const c = v5.cpu(vcpu);
  const mask = priorityMask(c);
  const irq = mask > 0 ? highestPending(v5, vcpu, mask) : null;
  if (!irq) return 0n;
  irq.active = true;
  irq.pendingLatch = false; // a level interrupt stays pending while its line is high
  c.apr = (c.apr | (1 << irq.priority)) >>> 0;
  v5.kick();
  return GICV5_GICR_CDIA_VALID | BigInt(irq.intid);
}

/** GIC CDEOI: priority drop of the highest active priority. */
function endOfInterrupt(v5: Gicv5Vgic, c: V5Cpu): void {
  if (c.apr) c.apr = (c.apr & (c.apr - 1)) >>> 0;
  v5.kick();
}

/** The interrupt a GIC CD* instruction names, if the guest can see it. */
function target(v5: Gicv5Vgic, vcpu: VgicCpu, v: bigint): V5Irq | null {
  const intid = Number(v & 0xffffffffn);
  const irq = v5.irq(vcpu, intid);
  if (!irq) return null;
  if (irq.type === GICV5_HWIRQ_TYPE_PPI && !((v5.vgicPpiMask >> BigInt(irq.id)) & 1n)) return null;
  return irq;
}

/** GIC CDRCFG: ICC_ICSR_EL1 gets the interrupt's configuration, or F for an invalid one. */
function requestConfig(v5: Gicv5Vgic, vcpu: VgicCpu, v: bigint): void {
  const c = v5.cpu(vcpu);
  const irq = target(v5, vcpu, v);
  if (!irq) {
    c.icsr = ICC_ICSR_EL1_F;
    return;
  }
  let r = BigInt(irq.priority) << ICC_ICSR_EL1_PRIORITY_SHIFT;
  r |= BigInt(irq.iaffid) << ICC_ICSR_EL1_IAFFID_SHIFT;
  if (irq.enabled) r |= ICC_ICSR_EL1_ENABLED;
  if (irq.isPending()) r |= ICC_ICSR_EL1_PENDING;
  if (irq.irm) r |= ICC_ICSR_EL1_IRM;
  if (irq.active) r |= ICC_ICSR_EL1_ACTIVE;
  if (irq.level) r |= ICC_ICSR_EL1_HM;
  c.icsr = r;
}

// --- PPI register helpers ------------------------------------------------------------------------

const visible = (v5: Gicv5Vgic, i: number): boolean => ((v5.vgicPpiMask >> BigInt(i)) & 1n) === 1n;

function ppiBits(v5: Gicv5Vgic, c: V5Cpu, pick: (irq: V5Irq) => boolean): bigint {
  let v = 0n;
  for (let i = 0; i < VGIC_V5_NR_PRIVATE_IRQS; i++) if (visible(v5, i) && pick(c.ppis[i]!)) v |= 1n << BigInt(i);
  return v;
}
function ppiApply(v5: Gicv5Vgic, c: V5Cpu, val: bigint, fn: (irq: V5Irq, bit: boolean) => void): void {
  for (let i = 0; i < VGIC_V5_NR_PRIVATE_IRQS; i++) if (visible(v5, i)) fn(c.ppis[i]!, ((val >> BigInt(i)) & 1n) === 1n);
  v5.kick();
}
/**
 * ICC_PPI_PRIORITYR<n>_EL1: KVM keeps VGIC_V5_NR_PRIVATE_IRQS / 8 of them (struct vgic_v5_cpu_if:
 * vgic_ppi_priorityr[]); the registers of PPIs 64..127 read as zero and ignore writes.
 */
function readPriorityr(c: V5Cpu, n: number): bigint {
  if (n * 8 >= VGIC_V5_NR_PRIVATE_IRQS) return 0n;
  let v = 0n;
  for (let k = 0; k < 8; k++) v |= BigInt(c.ppis[n * 8 + k]!.priority & 0x1f) << BigInt(k * 8);
  return v;
}
function writePriorityr(v5: Gicv5Vgic, c: V5Cpu, n: number, val: bigint): void {
  if (n * 8 >= VGIC_V5_NR_PRIVATE_IRQS) return;
  for (let k = 0; k < 8; k++) c.ppis[n * 8 + k]!.priority = Number((val >> BigInt(k * 8)) & 0x1fn);
  v5.kick();
}

// --- registers the guest and userspace read and write alike -------------------------------------

/** A CPU-interface register as state: one get and one set for both views below. */
interface StateReg {
  get(v5: Gicv5Vgic, c: V5Cpu): bigint;
  set(v5: Gicv5Vgic, c: V5Cpu, v: bigint): void;
}

const ICSR_REG: StateReg = { get: (_v5, c) => c.icsr, set: (_v5, c, v) => { c.icsr = v & ICSR_MASK; } };
const ENABLER0_REG: StateReg = { get: (v5, c) => ppiBits(v5, c, (i) => i.enabled), set: (v5, c, v) => ppiApply(v5, c, v, (i, b) => (i.enabled = b)) };
const priorityrReg = (n: number): StateReg => ({ get: (_v5, c) => readPriorityr(c, n), set: (v5, c, v) => writePriorityr(v5, c, n, v) });
const APR_REG: StateReg = { get: (_v5, c) => BigInt(c.apr >>> 0), set: (v5, c, v) => { c.apr = Number(v & 0xffffffffn) >>> 0; v5.kick(); } };
const CR0_REG: StateReg = { get: (_v5, c) => (c.en ? 1n : 0n), set: (v5, c, v) => { c.en = (v & 1n) === 1n; v5.kick(); } };
const PCR_REG: StateReg = { get: (_v5, c) => BigInt(c.pcr), set: (v5, c, v) => { c.pcr = Number(v & 0x1fn); v5.kick(); } };

// --- the guest's view ------------------------------------------------------------------------------

interface GuestReg {
  readonly name: string;
  read?(v5: Gicv5Vgic, vcpu: VgicCpu): bigint;
  write?(v5: Gicv5Vgic, vcpu: VgicCpu, v: bigint): void;
}

const on = (f: (v5: Gicv5Vgic, c: V5Cpu, vcpu: VgicCpu, v: bigint) => void) => (v5: Gicv5Vgic, vcpu: VgicCpu, v: bigint): void => f(v5, v5.cpu(vcpu), vcpu, v);
const get = (f: (v5: Gicv5Vgic, c: V5Cpu, vcpu: VgicCpu) => bigint) => (v5: Gicv5Vgic, vcpu: VgicCpu): bigint => f(v5, v5.cpu(vcpu), vcpu);
const nothing = (): void => {};
/** The guest's MRS/MSR of a StateReg. */
const guestRw = (r: StateReg): Pick<GuestReg, 'read' | 'write'> => ({ read: get((v5, c) => r.get(v5, c)), write: on((v5, c, _vc, v) => r.set(v5, c, v)) });

/** Apply a CD* instruction to the interrupt it names (ignored for one the guest cannot see). */
const cd = (f: (irq: V5Irq, v: bigint, v5: Gicv5Vgic) => void) =>
  on((v5, _c, vcpu, v) => {
    const irq = target(v5, vcpu, v);
    if (irq) f(irq, v, v5);
    v5.kick();
  });

const GUEST_TABLE = new Map<number, GuestReg>([
  // trapped: sys_regs.c access_gicv5_idr0 / access_gicv5_iaffid (writes UNDEF)
  [ICC_IDR0_EL1, { name: 'ICC_IDR0_EL1', read: () => (BigInt(V5_CPUIF_PRI_BITS - 1) << ICC_IDR0_EL1_PRI_BITS_SHIFT) | ICC_IDR0_EL1_ID_BITS_16BITS }],
  [ICC_IAFFIDR_EL1, { name: 'ICC_IAFFIDR_EL1', read: (_v5, vcpu) => BigInt(vcpu.vcpuId & 0xffff) }],
  // access_gicv5_ppi_enabler: the write is ANDed with vgic_ppi_mask; ENABLER1 writes do nothing.
  [ICC_PPI_ENABLER0_EL1, { name: 'ICC_PPI_ENABLER0_EL1', ...guestRw(ENABLER0_REG) }],
  [ICC_PPI_ENABLER1_EL1, { name: 'ICC_PPI_ENABLER1_EL1', read: () => 0n, write: nothing }],
  [ICC_PPI_HMR0_EL1, { name: 'ICC_PPI_HMR0_EL1', read: get((v5, c) => ppiBits(v5, c, (i) => i.level)) }],
  [ICC_PPI_HMR1_EL1, { name: 'ICC_PPI_HMR1_EL1', read: () => 0n }],
  [ICC_PPI_SPENDR0_EL1, { name: 'ICC_PPI_SPENDR0_EL1', read: get((v5, c) => ppiBits(v5, c, (i) => i.isPending())), write: on((v5, c, _vc, v) => ppiApply(v5, c, v, (i, b) => { if (b) i.pendingLatch = true; })) }],
  [ICC_PPI_CPENDR0_EL1, { name: 'ICC_PPI_CPENDR0_EL1', read: get((v5, c) => ppiBits(v5, c, (i) => i.isPending())), write: on((v5, c, _vc, v) => ppiApply(v5, c, v, (i, b) => { if (b) i.pendingLatch = false; })) }],
  [ICC_PPI_SACTIVER0_EL1, { name: 'ICC_PPI_SACTIVER0_EL1', read: get((v5, c) => ppiBits(v5, c, (i) => i.active)), write: on((v5, c, _vc, v) => ppiApply(v5, c, v, (i, b) => { if (b) i.active = true; })) }],
  [ICC_PPI_CACTIVER0_EL1, { name: 'ICC_PPI_CACTIVER0_EL1', read: get((v5, c) => ppiBits(v5, c, (i) => i.active)), write: on((v5, c, _vc, v) => ppiApply(v5, c, v, (i, b) => { if (b) i.active = false; })) }],
  [ICC_PPI_SPENDR1_EL1, { name: 'ICC_PPI_SPENDR1_EL1', read: () => 0n, write: nothing }],
  [ICC_PPI_CPENDR1_EL1, { name: 'ICC_PPI_CPENDR1_EL1', read: () => 0n, write: nothing }],
  [ICC_PPI_SACTIVER1_EL1, { name: 'ICC_PPI_SACTIVER1_EL1', read: () => 0n, write: nothing }],
  [ICC_PPI_CACTIVER1_EL1, { name: 'ICC_PPI_CACTIVER1_EL1', read: () => 0n, write: nothing }],
  ...Array.from({ length: 16 }, (_, n): [number, GuestReg] => [
    ICC_PPI_PRIORITYR_EL1(n),
    { name: `ICC_PPI_PRIORITYR${n}_EL1`, ...guestRw(priorityrReg(n)) },
  ]),
  [ICC_CR0_EL1, { name: 'ICC_CR0_EL1', ...guestRw(CR0_REG) }],
  [ICC_PCR_EL1, { name: 'ICC_PCR_EL1', ...guestRw(PCR_REG) }],
  [ICC_APR_EL1, { name: 'ICC_APR_EL1', ...guestRw(APR_REG) }],
  [ICC_ICSR_EL1, { name: 'ICC_ICSR_EL1', ...guestRw(ICSR_REG) }],
  [ICC_HPPIR_EL1, { name: 'ICC_HPPIR_EL1', read: (v5, vcpu) => { const irq = highestPending(v5, vcpu, -1); return irq ? ICC_HPPIR_EL1_HPPIV | BigInt(irq.intid) : 0n; } }],
  // GICR instructions (reads) and GIC instructions (writes), sys_insn(1, 0, 12, CRm, op2)
  [GICV5_OP_GICR_CDIA, { name: 'GICR CDIA', read: (v5, vcpu) => acknowledge(v5, vcpu) }],
  [GICV5_OP_GICR_CDNMIA, { name: 'GICR CDNMIA', read: () => 0n }], // no NMIs are modelled
  [GICV5_OP_GIC_CDEOI, { name: 'GIC CDEOI', write: on((v5, c) => endOfInterrupt(v5, c)) }],
  [GICV5_OP_GIC_CDDI, { name: 'GIC CDDI', write: cd((irq) => { irq.active = false; }) }],
  [GICV5_OP_GIC_CDEN, { name: 'GIC CDEN', write: cd((irq) => { irq.enabled = true; }) }],
  [GICV5_OP_GIC_CDDIS, { name: 'GIC CDDIS', write: cd((irq) => { irq.enabled = false; }) }],
  [GICV5_OP_GIC_CDPRI, {
    name: 'GIC CDPRI',
    write: cd((irq, v, v5) => {
      const p = Number((v >> GICV5_GIC_CDPRI_PRIORITY_SHIFT) & 0x1fn);
      irq.priority = irq.type === GICV5_HWIRQ_TYPE_PPI ? p : irsPriority(v5, p);
    }),
  }],
  [GICV5_OP_GIC_CDAFF, {
    name: 'GIC CDAFF',
    write: cd((irq, v) => {
      if (irq.type === GICV5_HWIRQ_TYPE_PPI) return; // a PPI belongs to its PE
      irq.iaffid = Number((v >> GICV5_GIC_CDAFF_IAFFID_SHIFT) & 0xffffn);
      irq.irm = (v & GICV5_GIC_CDAFF_IRM) !== 0n;
    }),
  }],
  [GICV5_OP_GIC_CDPEND, { name: 'GIC CDPEND', write: cd((irq, v) => { irq.pendingLatch = (v & GICV5_GIC_CDPEND_PENDING) !== 0n; }) }],
  // Handling mode: LPIs only here; an SPI's comes from IRS_SPI_CFGR, a PPI's is fixed (HMR).
  [GICV5_OP_GIC_CDHM, { name: 'GIC CDHM', write: cd((irq, v) => { if (irq.type === GICV5_HWIRQ_TYPE_LPI) irq.level = (v & GICV5_GIC_CDHM_HM) !== 0n; }) }],
  [GICV5_OP_GIC_CDRCFG, { name: 'GIC CDRCFG', write: (v5, vcpu, v) => requestConfig(v5, vcpu, v) }],
  // GSB SYS / GSB ACK: barriers; the model's effects are immediate.
  [GICV5_OP_GSB_SYS, { name: 'GSB SYS', write: nothing }],
  [GICV5_OP_GSB_ACK, { name: 'GSB ACK', write: nothing }],
]);

export type V5SysregResult = { ok: true; value: bigint } | { ok: false; reason: string };

/** A guest MRS (or GICR instruction) on a GICv5 vCPU; anything else is UNDEF. */
export function v5GuestSysregRead(v5: Gicv5Vgic, vcpu: VgicCpu, enc: number): V5SysregResult {
  const r = GUEST_TABLE.get(enc);
  if (!r?.read) return { ok: false, reason: `UNDEF: read of ${r?.name ?? `sysreg 0x${enc.toString(16)}`} on a GICv5 vCPU` };
  return { ok: true, value: BigInt.asUintN(64, r.read(v5, vcpu)) };
}

/** A guest MSR (or GIC/GSB instruction) on a GICv5 vCPU. */
export function v5GuestSysregWrite(v5: Gicv5Vgic, vcpu: VgicCpu, enc: number, v: bigint): V5SysregResult {
  const r = GUEST_TABLE.get(enc);
  if (!r?.write) return { ok: false, reason: `UNDEF: write of ${r?.name ?? `sysreg 0x${enc.toString(16)}`} on a GICv5 vCPU` };
  r.write(v5, vcpu, BigInt.asUintN(64, v));
  return { ok: true, value: 0n };
}

// --- userspace KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS (IRS series) ---------------------------------------
// The registers of arm-vgic-v5.rst (IRS series); "S" registers are raw writes of the state.

interface UserReg extends StateReg {
  readonly name: string;
}

const USER_TABLE = new Map<number, UserReg>([
  [ICC_ICSR_EL1, { name: 'ICC_ICSR_EL1', ...ICSR_REG }],
  [ICC_PPI_ENABLER0_EL1, { name: 'ICC_PPI_ENABLER0_EL1', ...ENABLER0_REG }],
  [ICC_PPI_ENABLER1_EL1, { name: 'ICC_PPI_ENABLER1_EL1', get: () => 0n, set: nothing }],
  [ICC_PPI_SACTIVER0_EL1, { name: 'ICC_PPI_SACTIVER0_EL1', get: (v5, c) => ppiBits(v5, c, (i) => i.active), set: (v5, c, v) => ppiApply(v5, c, v, (i, b) => (i.active = b)) }],
  [ICC_PPI_SACTIVER1_EL1, { name: 'ICC_PPI_SACTIVER1_EL1', get: () => 0n, set: nothing }],
  [ICC_PPI_SPENDR0_EL1, { name: 'ICC_PPI_SPENDR0_EL1', get: (v5, c) => ppiBits(v5, c, (i) => i.isPending()), set: (v5, c, v) => ppiApply(v5, c, v, (i, b) => (i.pendingLatch = b)) }],
  [ICC_PPI_SPENDR1_EL1, { name: 'ICC_PPI_SPENDR1_EL1', get: () => 0n, set: nothing }],
  ...Array.from({ length: 16 }, (_, n): [number, UserReg] => [
    ICC_PPI_PRIORITYR_EL1(n),
    { name: `ICC_PPI_PRIORITYR${n}_EL1`, ...priorityrReg(n) },
  ]),
  [ICC_APR_EL1, { name: 'ICC_APR_EL1', ...APR_REG }],
  [ICC_CR0_EL1, { name: 'ICC_CR0_EL1', ...CR0_REG }],
  [ICC_PCR_EL1, { name: 'ICC_PCR_EL1', ...PCR_REG }],
]);

/** The encodings of the CPU_SYSREGS group, in the documented order (for save/restore). */
export const V5_USER_SYSREGS: readonly { enc: number; name: string }[] = [...USER_TABLE].map(([enc, r]) => ({ enc, name: r.name }));

/** vgic_v5_has_cpu_sysregs_attr(): 0 for a listed register, else ENXIO. */
export function v5HasCpuSysreg(enc: number): number {
  return USER_TABLE.has(enc) ? 0 : -ENXIO;
}

/** vgic_v5_cpu_sysregs_uaccess(): an unknown register is ENOENT (kvm_sys_reg_*_user). */
export function v5CpuSysregGet(v5: Gicv5Vgic, vcpu: VgicCpu, enc: number): { ret: number; value: bigint } {
  const r = USER_TABLE.get(enc);
  if (!r) return { ret: -ENOENT, value: 0n };
  return { ret: 0, value: BigInt.asUintN(64, r.get(v5, v5.cpu(vcpu))) };
}
export function v5CpuSysregSet(v5: Gicv5Vgic, vcpu: VgicCpu, enc: number, v: bigint): number {
  const r = USER_TABLE.get(enc);
  if (!r) return -ENOENT;
  r.set(v5, v5.cpu(vcpu), BigInt.asUintN(64, v));
  return 0;
}

// Register sequences as data: what a VMM reads on save and writes on restore, in its order.
// One generic engine (save.ts, restore.ts) interprets any list, in the style of Firecracker's
// gic/regs.rs `VgicRegEngine`. The sequences live in qemu-v3.ts, qemu-v2.ts, firecracker-v3.ts
// and firecracker-v2.ts; each cites the source file and function it was read from.

import {
  KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
  KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
  KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
} from '../../uapi/kvm.ts';
import type { GicModel, RegisterSection, VmmStyle } from '../schema.ts';

/**
 * Whose attribute upper word an access carries, and under which vCPU key a per-vCPU value is
 * stored in the snapshot.
 * - dist:      v3 DIST_REGS upper word 0 (KVM uses vCPU 0); v2 cpu field 0. Stored under the
 *              first vCPU's key when the section is per vCPU.
 * - vcpu:      the vCPU of the enclosing forEachVcpu (or of a banked v2 word): v3 its MPIDR,
 *              v2 its id. Stored under that vCPU.
 * - vcpu0:     the first vCPU's MPIDR (QEMU's SPI LEVEL_INFO and its GICR_TYPER probe use cpu 0).
 * - fc-v2-cpu: Firecracker's GICv2 CPU-interface attr, `(mpidr << 32) & (0xff << 32)` computed
 *              on an MPIDR that construct_kvm_mpidrs() has already shifted left by 32, so the
 *              cpu field is always 0 (gicv2/regs/icc_regs.rs: VgicSysRegEngine::kvm_device_attr).
 *              Stored under the loop vCPU, which is what Firecracker believes it accessed.
 */
export type Target = 'dist' | 'vcpu' | 'vcpu0' | 'fc-v2-cpu';

/**
 * What a restore step writes:
 * - saved:         the value saved under this register's own name
 * - ones / zero:   the VMM's constant clear value (QEMU: ~0 for GICR_IC*R0 and every GICv2 clear
 *                  pass, 0 for the GICv3 distributor clear registers in kvm_dist_putbmp)
 * - saved-or-zero: saved if present, else 0 (QEMU's vmstate always holds the LPI bases)
 * - { savedAs }:   the value saved under another register base in the same section (QEMU's GICv2
 *                  put writes the saved GICD_CPENDSGIR source bytes to GICD_SPENDSGIR)
 * - { undo, of }:  rollback only (backup.ts): for a set/clear register pair, the bits of the saved
 *                  register `of` to set again (saved and not set now) or to clear (set now and not
 *                  saved), so that bits the failed restore did not change are not touched
 */
export type WriteValue =
  | 'saved'
  | 'ones'
  | 'zero'
  | 'saved-or-zero'
  | { readonly savedAs: string }
  | { readonly undo: 'set' | 'clear'; readonly of: string };

/** One register; width 64 on DIST/REDIST is two 32-bit accesses (lo at offset, then hi at +4). */
export interface RegStep {
  readonly op: 'reg';
  readonly name: string;
  readonly group: number;
  readonly offset: number;
  readonly width: 32 | 64;
  readonly target: Target;
  readonly section: RegisterSection;
  /** Applied to the value read on save (the VMM keeps only what its device model stores). */
  readonly saveMask?: number;
  readonly value?: WriteValue;
}

/**
 * A per-IRQ register pass, one 32-bit word at a time, INTIDs [from, to) (to defaults to the VM's
 * nr_irqs and is clipped to it). The snapshot name is `name` + word index ((intid·bits)/32).
 * With `bankedSection`, words covering INTIDs < 32 are accessed once per vCPU (QEMU's GICv2
 * kvm_dist_get/put loop) and stored there; other words use `target`/`section`.
 */
export interface WordsStep {
  readonly op: 'words';
  readonly name: string;
  readonly group: number;
  readonly offset: number;
  readonly bitsPerIrq: 1 | 2 | 8;
  readonly from: number;
  readonly to?: number;
  readonly target: Target;
  readonly section: RegisterSection;
  readonly bankedSection?: RegisterSection;
  readonly saveMask?: number;
  readonly value?: WriteValue;
}

/** QEMU's GICv3 kvm_dist_putbmp(): per word, the clear register (a constant) then the set register. */
export interface PairsStep {
  readonly op: 'pairs';
  readonly clear: { readonly name: string; readonly offset: number; readonly value: 'ones' | 'zero' };
  readonly set: { readonly name: string; readonly offset: number };
  readonly from: number;
}

/** LEVEL_INFO words (vINTID multiple of 32) for INTIDs [from, to). */
export interface LevelStep {
  readonly op: 'level';
  readonly from: number;
  readonly to?: number;
  readonly target: 'vcpu' | 'vcpu0';
  readonly section: 'levelInfoVcpu' | 'levelInfoSpi';
}

/**
 * GICD_IROUTER<i> for INTIDs [from, to): lo at 0x6000 + stride·i, hi at lo + 4, stored as one
 * 64-bit value named by i. Stride 8 is the architecture (Firecracker's SharedIrqReg with 64
 * bits per IRQ); stride 4 is QEMU's `GICD_IROUTER + sizeof(uint32_t) * i`, replayed literally.
 */
export interface IrouterStep {
  readonly op: 'irouter';
  readonly stride: 4 | 8;
  readonly from: number;
  readonly to?: number;
}

/** One ICC_* system register (CPU_SYSREGS, u64) of the loop vCPU. */
export interface SysregStep {
  readonly op: 'sysreg';
  readonly name: string;
  readonly encoding: number;
}

/**
 * ICC_AP0R<n>_EL1 / ICC_AP1R<n>_EL1, the bank sized by ICC_CTLR_EL1.PRIbits + 1 (P):
 * - qemu: P from the ICC_CTLR_EL1 value read just before (save) or saved (restore); AP0R then
 *   AP1R, each from the highest available index down (7 bits → 3..0, 6 → 1..0, else 0).
 * - firecracker: an extra ICC_CTLR_EL1 read (source on save, destination on restore); AP0R0..3
 *   then AP1R0..3 ascending, unavailable ones absent; restore fails with InvalidVgicSysRegState
 *   when the saved present/absent pattern differs from what the destination allows.
 */
export interface ApStep {
  readonly op: 'ap';
  readonly order: 'qemu' | 'firecracker';
}

export interface ForEachVcpuStep {
  readonly op: 'forEachVcpu';
  readonly steps: readonly Step[];
}

/** Steps run only when the preceding probePlpis found GICR_TYPER.PLPIS set. */
export interface IfPlpisStep {
  readonly op: 'ifPlpis';
  readonly steps: readonly Step[];
}

/** GICR_TYPER lo/hi of the first vCPU, for PLPIS (QEMU: kvm_arm_gicv3_get/put). */
export interface ProbePlpisStep {
  readonly op: 'probePlpis';
}

/**
 * Sanity checks the VMM makes:
 * - qemu-v3-typer: GICD_TYPER read; abort if (ITLinesNumber + 1)·32 < nr_irqs (kvm_arm_gicv3_check).
 * - qemu-v2-typer: GICD_TYPER read; on restore abort if the kernel has fewer IRQs or another CPU
 *   count than saved (kvm_arm_gic_put).
 * - vcpu-count: Firecracker's vCPU-count comparison (no access), after the distributor
 *   (gicv3/regs/mod.rs restore_state: GicError::InconsistentVcpuCount).
 */
export interface CheckStep {
  readonly op: 'check';
  readonly what: 'qemu-v3-typer' | 'qemu-v2-typer' | 'vcpu-count';
}

/** A KVM_DEV_ARM_VGIC_GRP_CTRL write with no value (e.g. SAVE_PENDING_TABLES). */
export interface CtrlStep {
  readonly op: 'ctrl';
  readonly name: string;
  readonly attr: number;
}

/**
 * GICD_IIDR and the VMM's IIDR policy. On save: read when `always` (QEMU's GICv2 get reads it and
 * discards it) or when the policy is 'keep'; stored only for 'keep'. On restore: 'none' writes
 * nothing, 'keep' writes the saved value, 'revN' writes the destination's IIDR with Revision = N.
 */
export interface IidrStep {
  readonly op: 'iidr';
  readonly always: boolean;
}

export type Step =
  | RegStep
  | WordsStep
  | PairsStep
  | LevelStep
  | IrouterStep
  | SysregStep
  | ApStep
  | ForEachVcpuStep
  | IfPlpisStep
  | ProbePlpisStep
  | CheckStep
  | CtrlStep
  | IidrStep;

export type SequenceName = 'qemu-v3' | 'qemu-v2' | 'firecracker-v3' | 'firecracker-v2' | 'backup-v3' | 'backup-v2';

export interface VmmSequence {
  readonly name: SequenceName;
  readonly vmm: VmmStyle;
  readonly model: GicModel;
  /** What the VMM does when an access fails: QEMU passes &error_abort, Firecracker returns an Err. */
  readonly onError: 'abort' | 'error';
  readonly save: readonly Step[];
  readonly restore: readonly Step[];
  /** Where the sources were read (for error messages and the README). */
  readonly source: string;
}

// --- small constructors that keep the sequence files readable ---------------------------------

export const SGI_BASE = 0x10000;
export const GIC_INTERNAL = 32;

type RegOpts = Partial<Pick<RegStep, 'saveMask' | 'value' | 'width' | 'target' | 'section'>>;

function optional<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** A v3 or v2 distributor register (DIST_REGS). */
export function dist(name: string, offset: number, opts: RegOpts = {}): RegStep {
  return {
    op: 'reg',
    name,
    group: KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
    offset,
    width: opts.width ?? 32,
    target: opts.target ?? 'dist',
    section: opts.section ?? 'distributor',
    ...optional({ saveMask: opts.saveMask, value: opts.value }),
  };
}

/** A redistributor register of the loop vCPU (REDIST_REGS). */
export function redist(name: string, offset: number, opts: RegOpts = {}): RegStep {
  return {
    op: 'reg',
    name,
    group: KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
    offset,
    width: opts.width ?? 32,
    target: 'vcpu',
    section: 'redistributors',
    ...optional({ saveMask: opts.saveMask, value: opts.value }),
  };
}

/** A GICv2 CPU-interface register (CPU_REGS) of the loop vCPU. */
export function gicc(name: string, offset: number, opts: RegOpts = {}): RegStep {
  return {
    op: 'reg',
    name,
    group: KVM_DEV_ARM_VGIC_GRP_CPU_REGS,
    offset,
    width: 32,
    target: opts.target ?? 'vcpu',
    section: 'cpuInterfaces',
    ...optional({ saveMask: opts.saveMask, value: opts.value }),
  };
}

export type WordsOpts = Partial<Pick<WordsStep, 'saveMask' | 'value' | 'to' | 'target' | 'section' | 'bankedSection'>>;

/** A per-IRQ distributor pass over INTIDs [from, to). */
export function distWords(name: string, offset: number, bitsPerIrq: 1 | 2 | 8, from: number, opts: WordsOpts = {}): WordsStep {
  return {
    op: 'words',
    name,
    group: KVM_DEV_ARM_VGIC_GRP_DIST_REGS,
    offset,
    bitsPerIrq,
    from,
    target: opts.target ?? 'dist',
    section: opts.section ?? 'distributor',
    ...optional({ to: opts.to, bankedSection: opts.bankedSection, saveMask: opts.saveMask, value: opts.value }),
  };
}

/**
 * A GICv2 pass over every IRQ word from INTID 0, the banked words (INTIDs < 32) once per vCPU:
 * QEMU's kvm_dist_get/put loop (qemu-v2.ts), also the GICv2 backup's (backup.ts).
 */
export function bankedDistWords(name: string, offset: number, bitsPerIrq: 1 | 2 | 8, opts: WordsOpts = {}): WordsStep {
  return distWords(name, offset, bitsPerIrq, 0, { bankedSection: 'bankedDistributor', ...opts });
}

/** A private (SGI/PPI) register of the loop vCPU's SGI frame, INTIDs 0..31. */
export function redistWords(name: string, offset: number, bitsPerIrq: 1 | 2 | 8, opts: WordsOpts = {}): WordsStep {
  return {
    op: 'words',
    name,
    group: KVM_DEV_ARM_VGIC_GRP_REDIST_REGS,
    offset,
    bitsPerIrq,
    from: 0,
    to: GIC_INTERNAL,
    target: 'vcpu',
    section: 'redistributors',
    ...optional({ saveMask: opts.saveMask, value: opts.value }),
  };
}

export function sysreg(name: string, encoding: number): SysregStep {
  return { op: 'sysreg', name, encoding };
}

export function forEachVcpu(...steps: Step[]): ForEachVcpuStep {
  return { op: 'forEachVcpu', steps };
}

export function ifPlpis(...steps: Step[]): IfPlpisStep {
  return { op: 'ifPlpis', steps };
}

export const probePlpis: ProbePlpisStep = { op: 'probePlpis' };

export function check(what: CheckStep['what']): CheckStep {
  return { op: 'check', what };
}

export function level(from: number, target: LevelStep['target'], section: LevelStep['section'], to?: number): LevelStep {
  return { op: 'level', from, target, section, ...optional({ to }) };
}

export function irouter(stride: 4 | 8, from: number, to?: number): IrouterStep {
  return { op: 'irouter', stride, from, ...optional({ to }) };
}

export function iidr(always: boolean): IidrStep {
  return { op: 'iidr', always };
}

// Firecracker's GICv3 save/restore (src/vmm/src/arch/aarch64/gic/gicv3/regs/: mod.rs save_state /
// restore_state, dist_regs.rs VGIC_DIST_REGS, redist_regs.rs VGIC_RDIST_REGS + VGIC_SGI_REGS,
// icc_regs.rs MAIN_VGIC_ICC_REGS + AP_VGIC_ICC_REGS). One generic engine (regs.rs
// VgicRegEngine) reads each list into 32-bit (64-bit for sysregs) chunks and writes the chunks
// back in the same order; a failed access returns GicError::DeviceAttribute.
//
// The ITS part (SAVE_TABLES, GITS_* registers) is left out: the model has no ITS register file.

import {
  GICD_CTLR,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IGROUPR,
  GICD_IPRIORITYR,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_STATUSR,
  GICR_CTLR,
  GICR_ICACTIVER0,
  GICR_ICENABLER0,
  GICR_ICFGR0,
  GICR_ICPENDR0,
  GICR_IGROUPR0,
  GICR_IPRIORITYR0,
  GICR_ISACTIVER0,
  GICR_ISENABLER0,
  GICR_ISPENDR0,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GICR_STATUSR,
  GICR_WAKER,
  ICC_BPR0_EL1,
  ICC_BPR1_EL1,
  ICC_CTLR_EL1,
  ICC_IGRPEN0_EL1,
  ICC_IGRPEN1_EL1,
  ICC_PMR_EL1,
  ICC_SRE_EL1,
  KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES,
} from '../../host/index.ts';
import {
  SGI_BASE,
  type Step,
  type VmmSequence,
  check,
  dist,
  distWords,
  forEachVcpu,
  iidr,
  irouter,
  redist,
  redistWords,
  sysreg,
} from './types.ts';

/** arch/aarch64/layout.rs: IRQ_BASE = 32, IRQ_MAX = 128 (also the NR_IRQS Firecracker sets). */
export const FC_IRQ_BASE = 32;
export const FC_IRQ_MAX = 128;

/** SharedIrqReg::range(): INTIDs IRQ_BASE..IRQ_MAX whatever nr_irqs is. */
const shared = (name: string, offset: number, bits: 1 | 2 | 8): Step => distWords(name, offset, bits, FC_IRQ_BASE, { to: FC_IRQ_MAX });

/**
 * VGIC_DIST_REGS ("Order is taken from qemu"). The clear registers are saved too, and restored
 * with their saved readback: ICENABLER <- the enabled bits, so bits set at the destination
 * but clear in the snapshot are never cleared.
 */
const DIST: readonly Step[] = [
  dist('GICD_CTLR', GICD_CTLR),
  dist('GICD_STATUSR', GICD_STATUSR),
  shared('GICD_ICENABLER', GICD_ICENABLER, 1),
  shared('GICD_ISENABLER', GICD_ISENABLER, 1),
  shared('GICD_IGROUPR', GICD_IGROUPR, 1),
  irouter(8, FC_IRQ_BASE, FC_IRQ_MAX), // SharedIrqReg(0x6000, 64): 4-byte chunks, lo then hi
  shared('GICD_ICFGR', GICD_ICFGR, 2),
  shared('GICD_ICPENDR', GICD_ICPENDR, 1),
  shared('GICD_ISPENDR', GICD_ISPENDR, 1),
  shared('GICD_ICACTIVER', GICD_ICACTIVER, 1),
  shared('GICD_ISACTIVER', GICD_ISACTIVER, 1),
  shared('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
];

/**
 * VGIC_RDIST_REGS then VGIC_SGI_REGS. GICR_CTLR comes after the LPI bases since Firecracker
 * 3b943af0e (June 2025, ITS support): "Otherwise, restoring GICR_PROPBASER doesn't have any
 * effect". The stored redist_regs.rs versions (0c3606af, 055fda4d) predate it and list CTLR first.
 */
const REDIST: readonly Step[] = [
  redist('GICR_STATUSR', GICR_STATUSR),
  redist('GICR_WAKER', GICR_WAKER),
  redist('GICR_PROPBASER', GICR_PROPBASER, { width: 64 }),
  redist('GICR_PENDBASER', GICR_PENDBASER, { width: 64 }),
  redist('GICR_CTLR', GICR_CTLR),
  redist('GICR_IGROUPR0', SGI_BASE + GICR_IGROUPR0),
  redist('GICR_ICENABLER0', SGI_BASE + GICR_ICENABLER0),
  redist('GICR_ISENABLER0', SGI_BASE + GICR_ISENABLER0),
  redistWords('GICR_ICFGR', SGI_BASE + GICR_ICFGR0, 2), // 8 bytes: ICFGR0 and ICFGR1
  redist('GICR_ICPENDR0', SGI_BASE + GICR_ICPENDR0),
  redist('GICR_ISPENDR0', SGI_BASE + GICR_ISPENDR0),
  redist('GICR_ICACTIVER0', SGI_BASE + GICR_ICACTIVER0),
  redist('GICR_ISACTIVER0', SGI_BASE + GICR_ISACTIVER0),
  redistWords('GICR_IPRIORITYR', SGI_BASE + GICR_IPRIORITYR0, 8), // 32 bytes
];

/** MAIN_VGIC_ICC_REGS, then the AP registers gated by ICC_CTLR_EL1.PRIbits. */
const ICC: readonly Step[] = [
  sysreg('ICC_SRE_EL1', ICC_SRE_EL1),
  sysreg('ICC_CTLR_EL1', ICC_CTLR_EL1),
  sysreg('ICC_IGRPEN0_EL1', ICC_IGRPEN0_EL1),
  sysreg('ICC_IGRPEN1_EL1', ICC_IGRPEN1_EL1),
  sysreg('ICC_PMR_EL1', ICC_PMR_EL1),
  sysreg('ICC_BPR0_EL1', ICC_BPR0_EL1),
  sysreg('ICC_BPR1_EL1', ICC_BPR1_EL1),
  { op: 'ap', order: 'firecracker' },
];

export const FIRECRACKER_V3: VmmSequence = {
  name: 'firecracker-v3',
  vmm: 'firecracker',
  model: 'v3',
  onError: 'error',
  save: [
    { op: 'ctrl', name: 'SAVE_PENDING_TABLES', attr: KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES }, // save_pending_tables()
    iidr(false), // policy knob only: Firecracker never touches GICD_IIDR
    forEachVcpu(...REDIST, ...ICC),
    ...DIST,
  ],
  restore: [
    iidr(false),
    ...DIST,
    check('vcpu-count'),
    forEachVcpu(...REDIST, ...ICC),
  ],
  source: 'firecracker-microvm/firecracker src/vmm/src/arch/aarch64/gic/gicv3/regs/{mod,dist_regs,redist_regs,icc_regs}.rs',
};

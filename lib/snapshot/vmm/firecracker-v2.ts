// Firecracker's GICv2 save/restore (src/vmm/src/arch/aarch64/gic/gicv2/regs/: mod.rs save_state /
// restore_state, dist_regs.rs VGIC_DIST_REGS, icc_regs.rs MAIN_VGIC_ICC_REGS).
// What it leaves out, by construction: the banked INTID 0..31 words (SharedIrqReg starts at
// IRQ_BASE = 32), GICD_ITARGETSR, and every CPU interface but CPU 0 (the attr cpu field is
// computed from an already-shifted MPIDR, see Target 'fc-v2-cpu'). CPENDSGIR/SPENDSGIR are
// SimpleRegs accessed with cpu field 0, so only CPU 0's SGI sources are kept.

import {
  GICC_ABPR,
  GICC_APR0,
  GICC_BPR,
  GICC_CTLR,
  GICC_PMR,
  GICD_CPENDSGIR,
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
  GICD_SPENDSGIR,
} from '../../host/index.ts';
import { FC_IRQ_BASE, FC_IRQ_MAX } from './firecracker-v3.ts';
import { type Step, type VmmSequence, check, dist, distWords, forEachVcpu, gicc, iidr } from './types.ts';

const shared = (name: string, offset: number, bits: 1 | 2 | 8): Step => distWords(name, offset, bits, FC_IRQ_BASE, { to: FC_IRQ_MAX });
/** DistReg::simple(0xF10, 16): four 32-bit chunks, cpu field 0. */
const sgiSources = (name: string, offset: number): Step => distWords(name, offset, 8, 0, { to: 16, section: 'bankedDistributor' });

const DIST: readonly Step[] = [
  dist('GICD_CTLR', GICD_CTLR),
  shared('GICD_ICENABLER', GICD_ICENABLER, 1),
  shared('GICD_ISENABLER', GICD_ISENABLER, 1),
  shared('GICD_IGROUPR', GICD_IGROUPR, 1),
  shared('GICD_ICFGR', GICD_ICFGR, 2),
  shared('GICD_ICPENDR', GICD_ICPENDR, 1),
  shared('GICD_ISPENDR', GICD_ISPENDR, 1),
  shared('GICD_ICACTIVER', GICD_ICACTIVER, 1),
  shared('GICD_ISACTIVER', GICD_ISACTIVER, 1),
  shared('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
  sgiSources('GICD_CPENDSGIR', GICD_CPENDSGIR),
  sgiSources('GICD_SPENDSGIR', GICD_SPENDSGIR),
];

/** MAIN_VGIC_ICC_REGS: CTLR, PMR, BPR, ABPR, APR0..3 (GICC_NSAPR deliberately not saved). */
const GICC: readonly Step[] = [
  gicc('GICC_CTLR', GICC_CTLR, { target: 'fc-v2-cpu' }),
  gicc('GICC_PMR', GICC_PMR, { target: 'fc-v2-cpu' }),
  gicc('GICC_BPR', GICC_BPR, { target: 'fc-v2-cpu' }),
  gicc('GICC_ABPR', GICC_ABPR, { target: 'fc-v2-cpu' }),
  ...[0, 1, 2, 3].map((i) => gicc(`GICC_APR${i}`, GICC_APR0 + 4 * i, { target: 'fc-v2-cpu' })),
];

export const FIRECRACKER_V2: VmmSequence = {
  name: 'firecracker-v2',
  vmm: 'firecracker',
  model: 'v2',
  onError: 'error',
  save: [iidr(false), forEachVcpu(...GICC), ...DIST],
  restore: [iidr(false), ...DIST, check('vcpu-count'), forEachVcpu(...GICC)],
  source: 'firecracker-microvm/firecracker src/vmm/src/arch/aarch64/gic/gicv2/regs/{mod,dist_regs,icc_regs}.rs',
};

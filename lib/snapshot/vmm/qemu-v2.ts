// QEMU's GICv2 save (kvm_arm_gic_get) and restore (kvm_arm_gic_put) over KVM device attributes.
// Read from qemu/qemu hw/intc/arm_gic_kvm.c (0b8fa32f). Register loops (kvm_dist_get/put) go
// one 32-bit word at a time; words covering INTIDs < 32 are repeated for every CPU (attr cpu
// field), the others use CPU 0. Every access passes &error_abort.

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
  GICD_ITARGETSR,
  GICD_SPENDSGIR,
} from '../../host/index.ts';
import { type Step, type VmmSequence, bankedDistWords, check, dist, forEachVcpu, gicc, iidr } from './types.ts';

const NR_SGIS = 16;
/** translate_trigger(): QEMU stores only the edge bit (0x2) of each field. */
const EDGE_BITS = 0xaaaaaaaa;

const APRS: readonly Step[] = [0, 1, 2, 3].map((i) => gicc(`GICC_APR${i}`, GICC_APR0 + 4 * i));

const save: readonly Step[] = [
  dist('GICD_CTLR', GICD_CTLR),
  check('qemu-v2-typer'), // GICD_TYPER -> num_irq, num_cpu
  iidr(true), // "GICD_IIDR -> ?": read and discarded (kept only under the 'keep' policy)
  bankedDistWords('GICD_IGROUPR', GICD_IGROUPR, 1),
  bankedDistWords('GICD_ISENABLER', GICD_ISENABLER, 1),
  bankedDistWords('GICD_ISPENDR', GICD_ISPENDR, 1), // pending + level: the guest view (latch | line)
  bankedDistWords('GICD_ISACTIVER', GICD_ISACTIVER, 1),
  bankedDistWords('GICD_ICFGR', GICD_ICFGR, 2, { saveMask: EDGE_BITS }),
  bankedDistWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
  bankedDistWords('GICD_ITARGETSR', GICD_ITARGETSR, 8),
  bankedDistWords('GICD_CPENDSGIR', GICD_CPENDSGIR, 8, { to: NR_SGIS }), // SGI source bytes
  forEachVcpu(
    gicc('GICC_CTLR', GICC_CTLR),
    gicc('GICC_PMR', GICC_PMR, { saveMask: 0xff }),
    gicc('GICC_BPR', GICC_BPR, { saveMask: 0x7 }),
    gicc('GICC_ABPR', GICC_ABPR, { saveMask: 0x7 }),
    ...APRS,
  ),
];

// "We do the restore in a slightly different order than the save"; translate_clear writes ~0.
const restore: readonly Step[] = [
  iidr(true), // the policy's GICD_IIDR write; QEMU itself has only "TODO: Consider checking compatibility with the IIDR ?"
  dist('GICD_CTLR', GICD_CTLR),
  check('qemu-v2-typer'),
  bankedDistWords('GICD_ICENABLER', GICD_ICENABLER, 1, { value: 'ones' }),
  bankedDistWords('GICD_ISENABLER', GICD_ISENABLER, 1),
  bankedDistWords('GICD_IGROUPR', GICD_IGROUPR, 1),
  // "restore targets before pending to ensure the pending state is set on the appropriate CPU interfaces"
  bankedDistWords('GICD_ITARGETSR', GICD_ITARGETSR, 8),
  // "restore configuration registers before pending IRQs so we treat level/edge correctly"
  bankedDistWords('GICD_ICFGR', GICD_ICFGR, 2),
  bankedDistWords('GICD_ICPENDR', GICD_ICPENDR, 1, { value: 'ones' }),
  bankedDistWords('GICD_ISPENDR', GICD_ISPENDR, 1),
  bankedDistWords('GICD_ICACTIVER', GICD_ICACTIVER, 1, { value: 'ones' }),
  bankedDistWords('GICD_ISACTIVER', GICD_ISACTIVER, 1),
  bankedDistWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
  bankedDistWords('GICD_CPENDSGIR', GICD_CPENDSGIR, 8, { to: NR_SGIS, value: 'ones' }),
  bankedDistWords('GICD_SPENDSGIR', GICD_SPENDSGIR, 8, { to: NR_SGIS, value: { savedAs: 'GICD_CPENDSGIR' } }),
  forEachVcpu(
    gicc('GICC_CTLR', GICC_CTLR),
    gicc('GICC_PMR', GICC_PMR),
    gicc('GICC_BPR', GICC_BPR),
    gicc('GICC_ABPR', GICC_ABPR),
    ...APRS,
  ),
];

export const QEMU_V2: VmmSequence = {
  name: 'qemu-v2',
  vmm: 'qemu',
  model: 'v2',
  onError: 'abort',
  save,
  restore,
  source: 'qemu/qemu hw/intc/arm_gic_kvm.c: kvm_arm_gic_get / kvm_arm_gic_put',
};

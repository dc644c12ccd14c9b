// QEMU's GICv3 save (kvm_arm_gicv3_get, the vmstate pre_save hook) and restore
// (kvm_arm_gicv3_put, post_load and device reset) over KVM device attributes, in QEMU's order.
// Read from qemu/qemu hw/intc/arm_gicv3_kvm.c (01b5ab8c and f2a1cf91: the get/put code is the
// same in both). Every access goes through kvm_device_access(..., &error_abort).

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
  GICR_ICFGR1,
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
} from '../../host/index.ts';
import {
  GIC_INTERNAL,
  SGI_BASE,
  type Step,
  type VmmSequence,
  check,
  dist,
  distWords,
  forEachVcpu,
  ifPlpis,
  iidr,
  irouter,
  level,
  probePlpis,
  redist,
  redistWords,
  sysreg,
} from './types.ts';

/** QEMU keeps only the edge bit of each 2-bit ICFGR field (half_unshuffle32(reg >> 1)). */
const EDGE_BITS = 0xaaaaaaaa;

/** The CPU interface, the same list for get and put (kvm_gicc_access per register, then the AP banks). */
const ICC: readonly Step[] = [
  sysreg('ICC_SRE_EL1', ICC_SRE_EL1),
  sysreg('ICC_CTLR_EL1', ICC_CTLR_EL1),
  sysreg('ICC_IGRPEN0_EL1', ICC_IGRPEN0_EL1),
  sysreg('ICC_IGRPEN1_EL1', ICC_IGRPEN1_EL1),
  sysreg('ICC_PMR_EL1', ICC_PMR_EL1),
  sysreg('ICC_BPR0_EL1', ICC_BPR0_EL1),
  sysreg('ICC_BPR1_EL1', ICC_BPR1_EL1),
  { op: 'ap', order: 'qemu' },
];

/** LPI bases, only when GICR_TYPER.PLPIS (an ITS exists). */
const LPI_BASES: readonly Step[] = [
  forEachVcpu(
    redist('GICR_PROPBASER', GICR_PROPBASER, { width: 64, value: 'saved-or-zero' }),
    redist('GICR_PENDBASER', GICR_PENDBASER, { width: 64, value: 'saved-or-zero' }),
  ),
];

const save: readonly Step[] = [
  check('qemu-v3-typer'), // kvm_arm_gicv3_check(): GICD_TYPER
  probePlpis, // GICR_TYPER (lo, hi) of CPU 0
  iidr(false), // policy knob only: QEMU itself never touches GICD_IIDR on GICv3
  dist('GICD_CTLR', GICD_CTLR),
  forEachVcpu(
    redist('GICR_CTLR', GICR_CTLR),
    redist('GICR_STATUSR', GICR_STATUSR),
    redist('GICR_WAKER', GICR_WAKER),
    redist('GICR_IGROUPR0', SGI_BASE + GICR_IGROUPR0),
    redist('GICR_ISENABLER0', SGI_BASE + GICR_ISENABLER0),
    redist('GICR_ICFGR1', SGI_BASE + GICR_ICFGR1, { saveMask: EDGE_BITS }), // PPIs only
    level(0, 'vcpu', 'levelInfoVcpu', GIC_INTERNAL), // PPI line levels (vINTID 0)
    redist('GICR_ISPENDR0', SGI_BASE + GICR_ISPENDR0), // the latch only, on the uaccess path
    redist('GICR_ISACTIVER0', SGI_BASE + GICR_ISACTIVER0),
    redistWords('GICR_IPRIORITYR', SGI_BASE + GICR_IPRIORITYR0, 8),
  ),
  ifPlpis(...LPI_BASES),
  dist('GICD_STATUSR', GICD_STATUSR),
  // SPI words from INTID 32: the private part of each register is RAZ/WI with affinity routing.
  distWords('GICD_IGROUPR', GICD_IGROUPR, 1, GIC_INTERNAL), // kvm_dist_getbmp
  distWords('GICD_ISENABLER', GICD_ISENABLER, 1, GIC_INTERNAL),
  level(GIC_INTERNAL, 'vcpu0', 'levelInfoSpi'), // kvm_gic_get_line_level_bmp, via CPU 0
  distWords('GICD_ISPENDR', GICD_ISPENDR, 1, GIC_INTERNAL),
  distWords('GICD_ISACTIVER', GICD_ISACTIVER, 1, GIC_INTERNAL),
  distWords('GICD_ICFGR', GICD_ICFGR, 2, GIC_INTERNAL, { saveMask: EDGE_BITS }), // kvm_dist_get_edge_trigger
  distWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8, GIC_INTERNAL), // kvm_dist_get_priority
  irouter(4, GIC_INTERNAL), // GICD_IROUTER + sizeof(uint32_t) * i, lo then hi
  forEachVcpu(...ICC),
];

const restore: readonly Step[] = [
  check('qemu-v3-typer'),
  probePlpis,
  iidr(false), // the policy's GICD_IIDR write, before any other register (arm-vgic-v3.rst)
  dist('GICD_CTLR', GICD_CTLR),
  // "Restore base addresses before LPIs are potentially enabled by GICR_CTLR write"
  ifPlpis(...LPI_BASES),
  forEachVcpu(
    redist('GICR_CTLR', GICR_CTLR),
    redist('GICR_STATUSR', GICR_STATUSR),
    redist('GICR_WAKER', GICR_WAKER),
    redist('GICR_IGROUPR0', SGI_BASE + GICR_IGROUPR0),
    redist('GICR_ICENABLER0', SGI_BASE + GICR_ICENABLER0, { value: 'ones' }),
    redist('GICR_ISENABLER0', SGI_BASE + GICR_ISENABLER0),
    // "Restore config before pending so we treat level/edge correctly" (GICR_ICFGR0 is never written)
    redist('GICR_ICFGR1', SGI_BASE + GICR_ICFGR1),
    level(0, 'vcpu', 'levelInfoVcpu', GIC_INTERNAL),
    redist('GICR_ICPENDR0', SGI_BASE + GICR_ICPENDR0, { value: 'ones' }),
    redist('GICR_ISPENDR0', SGI_BASE + GICR_ISPENDR0),
    redist('GICR_ICACTIVER0', SGI_BASE + GICR_ICACTIVER0, { value: 'ones' }),
    redist('GICR_ISACTIVER0', SGI_BASE + GICR_ISACTIVER0),
    redistWords('GICR_IPRIORITYR', SGI_BASE + GICR_IPRIORITYR0, 8),
  ),
  dist('GICD_STATUSR', GICD_STATUSR),
  // kvm_dist_putbmp(): the clear register is written with 0 in this QEMU (a no-op; the 2025
  // patch by Zenghui Yu proposes ~0), then the set register with the saved bits.
  { op: 'pairs', clear: { name: 'GICD_ICENABLER', offset: GICD_ICENABLER, value: 'zero' }, set: { name: 'GICD_ISENABLER', offset: GICD_ISENABLER }, from: GIC_INTERNAL },
  distWords('GICD_IGROUPR', GICD_IGROUPR, 1, GIC_INTERNAL),
  // "Restore targets before pending to ensure the pending state is set on the appropriate CPU interfaces"
  irouter(4, GIC_INTERNAL),
  // "restore configuration registers before pending IRQs so we treat level/edge correctly"
  distWords('GICD_ICFGR', GICD_ICFGR, 2, GIC_INTERNAL),
  level(GIC_INTERNAL, 'vcpu0', 'levelInfoSpi'),
  { op: 'pairs', clear: { name: 'GICD_ICPENDR', offset: GICD_ICPENDR, value: 'zero' }, set: { name: 'GICD_ISPENDR', offset: GICD_ISPENDR }, from: GIC_INTERNAL },
  { op: 'pairs', clear: { name: 'GICD_ICACTIVER', offset: GICD_ICACTIVER, value: 'zero' }, set: { name: 'GICD_ISACTIVER', offset: GICD_ISACTIVER }, from: GIC_INTERNAL },
  distWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8, GIC_INTERNAL),
  forEachVcpu(...ICC),
];

export const QEMU_V3: VmmSequence = {
  name: 'qemu-v3',
  vmm: 'qemu',
  model: 'v3',
  onError: 'abort',
  save,
  restore,
  source: 'qemu/qemu hw/intc/arm_gicv3_kvm.c: kvm_arm_gicv3_get / kvm_arm_gicv3_put',
};

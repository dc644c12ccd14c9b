// The harness's own sequences for a transactional restore (restore.ts): before the first write,
// the destination is saved with the backup sequence of its GIC model, which reads everything any
// of the four VMM restore lists can change; if a write fails, the destination's state is read
// again and every register that differs from the backup is written back, in this restore order.
// They are data run by the same engine as the VMM sequences (save.ts, plan.ts).
//
// What the VMM restore lists write, and so what a backup must cover:
//   GICv3  GICD_IIDR (IIDR policy), GICD_CTLR, GICD_STATUSR, the SPI words of IGROUPR,
//          I[SC]ENABLER, I[SC]PENDR, I[SC]ACTIVER, ICFGR, IPRIORITYR, GICD_IROUTER (QEMU's
//          stride-4 writes land in the low and high words of routers below nr_irqs/2 + 16:
//          routers < 32 are RAZ/WI, the rest are covered by routers 32..nr_irqs-1), LEVEL_INFO
//          (SPIs and each vCPU's PPIs); per vCPU GICR_CTLR, STATUSR, WAKER, PROPBASER, PENDBASER,
//          IGROUPR0, I[SC]ENABLER0, ICFGR0/1, I[SC]PENDR0, I[SC]ACTIVER0, IPRIORITYR0..7 and
//          ICC_SRE/CTLR/IGRPEN0/IGRPEN1/PMR/BPR0/BPR1/AP0Rn/AP1Rn_EL1.
//   GICv2  GICD_IIDR (policy), GICD_CTLR, every word of IGROUPR, I[SC]ENABLER, I[SC]PENDR,
//          I[SC]ACTIVER, ICFGR, IPRIORITYR, ITARGETSR (banked words per vCPU), the SGI source
//          bytes (CPENDSGIR/SPENDSGIR, per vCPU), and per vCPU GICC_CTLR, PMR, BPR, ABPR, APR0..3.
//
// How each kind is written back, so that the value read again equals the backup:
// - plain registers: the backup value (only those that differ from the current value);
// - set/clear pairs (enable, active, GICv2 pending, GICv2 SGI sources): clear the bits set now but
//   not in the backup, set the bits in the backup but not set now ({ undo }); bits that read the
//   same are not touched;
// - GICv3 pending: GICx_ISPENDR written from userspace sets the latch of each 1 bit and clears it
//   for each 0 bit (vgic-mmio-v3.c: vgic_v3_uaccess_write_pending), after the line levels
//   (LEVEL_INFO) and trigger modes (ICFGR) are back, as QEMU's put orders them;
// - GICD_IIDR first (the revision decides whether groups are writable), ICC_CTLR_EL1 before the
//   AP registers (its PRIbits size the bank: vgic_v3_max_apr_idx) and before ICC_BPR1_EL1 (which
//   ignores writes while CBPR is set: set_gic_bpr1); the LPI bases before GICR_CTLR.
// ICC_SRE_EL1 is saved (so a change would be seen) but never written: set_gic_sre only checks
// the SRE bit and changes nothing.
//
// What no rollback can undo, because KVM offers no way back through the device API (the
// verification after a rollback reports it when it shows in a save):
// - a lowered ICC_CTLR_EL1.PRIbits or IDbits (set_gic_ctlr only lowers them, and lowers them even
//   when it then refuses the write): the preflight refuses such a write before anything is written;
// - on a 'flag' kernel (v2-groups-flag .. series-p1), a GICv2 userspace GICD_IIDR write that
//   succeeded has set v2_groups_user_writable for good; it cannot be seen in a save;
// - on GICv2, the pending latch of a level interrupt whose line is high (GICD_ISPENDR reads
//   latch | line from userspace too, vgic-mmio.c: __read_pending), if the failed restore cleared it.

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
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_SPENDSGIR,
  GICD_STATUSR,
  GICR_CTLR,
  GICR_ICACTIVER0,
  GICR_ICENABLER0,
  GICR_ICFGR0,
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
import type { GicModel } from '../schema.ts';
import type { VgicHandle } from './device.ts';
import { type SaveResult, saveVgic } from './save.ts';
import {
  GIC_INTERNAL,
  SGI_BASE,
  type Step,
  type VmmSequence,
  type WordsOpts,
  bankedDistWords,
  dist,
  distWords,
  forEachVcpu,
  gicc,
  irouter,
  level,
  redist,
  redistWords,
  sysreg,
} from './types.ts';

const clearOf = (of: string) => ({ value: { undo: 'clear', of } as const });
const setOf = (of: string) => ({ value: { undo: 'set', of } as const });

// --- GICv3 ----------------------------------------------------------------------------------------

const V3_ICC_WRITABLE: readonly Step[] = [
  sysreg('ICC_CTLR_EL1', ICC_CTLR_EL1),
  sysreg('ICC_IGRPEN0_EL1', ICC_IGRPEN0_EL1),
  sysreg('ICC_IGRPEN1_EL1', ICC_IGRPEN1_EL1),
  sysreg('ICC_PMR_EL1', ICC_PMR_EL1),
  sysreg('ICC_BPR0_EL1', ICC_BPR0_EL1),
  sysreg('ICC_BPR1_EL1', ICC_BPR1_EL1),
  { op: 'ap', order: 'qemu' }, // every AP register the current PRIbits allow
];

const V3_SAVE: readonly Step[] = [
  dist('GICD_IIDR', GICD_IIDR),
  dist('GICD_CTLR', GICD_CTLR),
  dist('GICD_STATUSR', GICD_STATUSR),
  distWords('GICD_IGROUPR', GICD_IGROUPR, 1, GIC_INTERNAL),
  distWords('GICD_ISENABLER', GICD_ISENABLER, 1, GIC_INTERNAL),
  distWords('GICD_ISPENDR', GICD_ISPENDR, 1, GIC_INTERNAL),
  distWords('GICD_ISACTIVER', GICD_ISACTIVER, 1, GIC_INTERNAL),
  distWords('GICD_ICFGR', GICD_ICFGR, 2, GIC_INTERNAL),
  distWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8, GIC_INTERNAL),
  irouter(8, GIC_INTERNAL),
  level(GIC_INTERNAL, 'vcpu0', 'levelInfoSpi'),
  forEachVcpu(
    redist('GICR_CTLR', GICR_CTLR),
    redist('GICR_STATUSR', GICR_STATUSR),
    redist('GICR_WAKER', GICR_WAKER),
    redist('GICR_PROPBASER', GICR_PROPBASER, { width: 64 }),
    redist('GICR_PENDBASER', GICR_PENDBASER, { width: 64 }),
    redist('GICR_IGROUPR0', SGI_BASE + GICR_IGROUPR0),
    redist('GICR_ISENABLER0', SGI_BASE + GICR_ISENABLER0),
    redistWords('GICR_ICFGR', SGI_BASE + GICR_ICFGR0, 2),
    level(0, 'vcpu', 'levelInfoVcpu', GIC_INTERNAL),
    redist('GICR_ISPENDR0', SGI_BASE + GICR_ISPENDR0),
    redist('GICR_ISACTIVER0', SGI_BASE + GICR_ISACTIVER0),
    redistWords('GICR_IPRIORITYR', SGI_BASE + GICR_IPRIORITYR0, 8),
    sysreg('ICC_SRE_EL1', ICC_SRE_EL1),
    ...V3_ICC_WRITABLE,
  ),
];

const V3_RESTORE: readonly Step[] = [
  dist('GICD_IIDR', GICD_IIDR),
  dist('GICD_CTLR', GICD_CTLR),
  forEachVcpu(
    redist('GICR_PROPBASER', GICR_PROPBASER, { width: 64 }),
    redist('GICR_PENDBASER', GICR_PENDBASER, { width: 64 }),
    redist('GICR_CTLR', GICR_CTLR),
    redist('GICR_STATUSR', GICR_STATUSR),
    redist('GICR_WAKER', GICR_WAKER),
    redist('GICR_IGROUPR0', SGI_BASE + GICR_IGROUPR0),
    redist('GICR_ICENABLER0', SGI_BASE + GICR_ICENABLER0, clearOf('GICR_ISENABLER')),
    redist('GICR_ISENABLER0', SGI_BASE + GICR_ISENABLER0, setOf('GICR_ISENABLER')),
    redistWords('GICR_ICFGR', SGI_BASE + GICR_ICFGR0, 2),
    level(0, 'vcpu', 'levelInfoVcpu', GIC_INTERNAL),
    redist('GICR_ISPENDR0', SGI_BASE + GICR_ISPENDR0),
    redist('GICR_ICACTIVER0', SGI_BASE + GICR_ICACTIVER0, clearOf('GICR_ISACTIVER')),
    redist('GICR_ISACTIVER0', SGI_BASE + GICR_ISACTIVER0, setOf('GICR_ISACTIVER')),
    redistWords('GICR_IPRIORITYR', SGI_BASE + GICR_IPRIORITYR0, 8),
  ),
  dist('GICD_STATUSR', GICD_STATUSR),
  distWords('GICD_ICENABLER', GICD_ICENABLER, 1, GIC_INTERNAL, clearOf('GICD_ISENABLER')),
  distWords('GICD_ISENABLER', GICD_ISENABLER, 1, GIC_INTERNAL, setOf('GICD_ISENABLER')),
  distWords('GICD_IGROUPR', GICD_IGROUPR, 1, GIC_INTERNAL),
  irouter(8, GIC_INTERNAL),
  distWords('GICD_ICFGR', GICD_ICFGR, 2, GIC_INTERNAL),
  level(GIC_INTERNAL, 'vcpu0', 'levelInfoSpi'),
  distWords('GICD_ISPENDR', GICD_ISPENDR, 1, GIC_INTERNAL),
  distWords('GICD_ICACTIVER', GICD_ICACTIVER, 1, GIC_INTERNAL, clearOf('GICD_ISACTIVER')),
  distWords('GICD_ISACTIVER', GICD_ISACTIVER, 1, GIC_INTERNAL, setOf('GICD_ISACTIVER')),
  distWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8, GIC_INTERNAL),
  forEachVcpu(...V3_ICC_WRITABLE),
];

// --- GICv2 ----------------------------------------------------------------------------------------

const sgiSources = (name: string, offset: number, opts: WordsOpts = {}): Step => bankedDistWords(name, offset, 8, { to: 16, ...opts });

const V2_GICC: readonly Step[] = [
  gicc('GICC_CTLR', GICC_CTLR),
  gicc('GICC_PMR', GICC_PMR),
  gicc('GICC_BPR', GICC_BPR),
  gicc('GICC_ABPR', GICC_ABPR),
  ...[0, 1, 2, 3].map((i) => gicc(`GICC_APR${i}`, GICC_APR0 + 4 * i)),
];

const V2_SAVE: readonly Step[] = [
  dist('GICD_IIDR', GICD_IIDR),
  dist('GICD_CTLR', GICD_CTLR),
  bankedDistWords('GICD_IGROUPR', GICD_IGROUPR, 1),
  bankedDistWords('GICD_ISENABLER', GICD_ISENABLER, 1),
  bankedDistWords('GICD_ISPENDR', GICD_ISPENDR, 1),
  bankedDistWords('GICD_ISACTIVER', GICD_ISACTIVER, 1),
  bankedDistWords('GICD_ICFGR', GICD_ICFGR, 2),
  bankedDistWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
  bankedDistWords('GICD_ITARGETSR', GICD_ITARGETSR, 8),
  sgiSources('GICD_CPENDSGIR', GICD_CPENDSGIR),
  forEachVcpu(...V2_GICC),
];

const V2_RESTORE: readonly Step[] = [
  dist('GICD_IIDR', GICD_IIDR),
  dist('GICD_CTLR', GICD_CTLR),
  bankedDistWords('GICD_ICENABLER', GICD_ICENABLER, 1, clearOf('GICD_ISENABLER')),
  bankedDistWords('GICD_ISENABLER', GICD_ISENABLER, 1, setOf('GICD_ISENABLER')),
  bankedDistWords('GICD_IGROUPR', GICD_IGROUPR, 1),
  bankedDistWords('GICD_ITARGETSR', GICD_ITARGETSR, 8),
  bankedDistWords('GICD_ICFGR', GICD_ICFGR, 2),
  bankedDistWords('GICD_ICPENDR', GICD_ICPENDR, 1, clearOf('GICD_ISPENDR')),
  bankedDistWords('GICD_ISPENDR', GICD_ISPENDR, 1, setOf('GICD_ISPENDR')),
  bankedDistWords('GICD_ICACTIVER', GICD_ICACTIVER, 1, clearOf('GICD_ISACTIVER')),
  bankedDistWords('GICD_ISACTIVER', GICD_ISACTIVER, 1, setOf('GICD_ISACTIVER')),
  bankedDistWords('GICD_IPRIORITYR', GICD_IPRIORITYR, 8),
  sgiSources('GICD_CPENDSGIR', GICD_CPENDSGIR, clearOf('GICD_CPENDSGIR')),
  sgiSources('GICD_SPENDSGIR', GICD_SPENDSGIR, setOf('GICD_CPENDSGIR')),
  forEachVcpu(...V2_GICC),
];

// The snapshots these produce never leave the harness: `vmm` is nominal (the snapshot format
// needs one), and `onError` does not apply (a rollback goes on past a failed write).
export const BACKUP_V3: VmmSequence = {
  name: 'backup-v3',
  vmm: 'qemu',
  model: 'v3',
  onError: 'error',
  save: V3_SAVE,
  restore: V3_RESTORE,
  source: 'vgic-harness: everything the GICv3 VMM restore lists write',
};

export const BACKUP_V2: VmmSequence = {
  name: 'backup-v2',
  vmm: 'qemu',
  model: 'v2',
  onError: 'error',
  save: V2_SAVE,
  restore: V2_RESTORE,
  source: 'vgic-harness: everything the GICv2 VMM restore lists write',
};

export function backupSequenceFor(model: GicModel): VmmSequence {
  return model === 'v3' ? BACKUP_V3 : BACKUP_V2;
}

/**
 * Everything a restore can change in `vm`, read with its model's backup sequence: the state a
 * failed restore must leave exactly as it found it. Compare two captures with diffSnapshots or
 * as text (stringifySnapshot).
 */
export function captureVgicState(vm: VgicHandle): SaveResult {
  let model: unknown;
  try {
    model = vm.model;
  } catch {
    model = undefined;
  }
  return saveVgic(vm, backupSequenceFor(model === 'v2' ? 'v2' : 'v3'));
}

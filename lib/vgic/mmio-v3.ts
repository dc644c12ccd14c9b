// GICv3 distributor and redistributor register maps (vgic-mmio-v3.c: vgic_v3_dist_registers,
// vgic_v3_rd_registers). Adding a register is adding a row.

import { EBUSY, EINVAL } from '../uapi/errno.ts';
import {
  GICD_CTLR,
  GICD_CTLR_ARE_NS,
  GICD_CTLR_DS,
  GICD_CTLR_ENABLE_SS_G1,
  GICD_CTLR_nASSGIreq,
  GICD_ICACTIVER,
  GICD_ICENABLER,
  GICD_ICFGR,
  GICD_ICPENDR,
  GICD_IDREGS,
  GICD_IGROUPR,
  GICD_IGRPMODR,
  GICD_IIDR,
  GICD_IPRIORITYR,
  GICD_IROUTER,
  GICD_ISACTIVER,
  GICD_ISENABLER,
  GICD_ISPENDR,
  GICD_ITARGETSR,
  GICD_PIDR2,
  GICD_STATUSR,
  GICD_TYPER,
  GICD_TYPER2,
  GICD_TYPER2_nASSGIcap,
  GICD_TYPER_LPIS,
  GICR_CTLR,
  GICR_CTLR_CES,
  GICR_CTLR_ENABLE_LPIS,
  GICR_CTLR_IR,
  GICR_ICACTIVER0,
  GICR_ICENABLER0,
  GICR_ICFGR0,
  GICR_ICPENDR0,
  GICR_IDREGS,
  GICR_IGROUPR0,
  GICR_IGRPMODR0,
  GICR_IIDR,
  GICR_INVALLR,
  GICR_INVLPIR,
  GICR_IPRIORITYR0,
  GICR_ISACTIVER0,
  GICR_ISENABLER0,
  GICR_ISPENDR0,
  GICR_NSACR,
  GICR_PENDBASER,
  GICR_PROPBASER,
  GICR_STATUSR,
  GICR_SYNCR,
  GICR_TYPER,
  GICR_TYPER_LAST,
  GICR_TYPER_PLPIS,
  GICR_WAKER,
  SZ_64K,
  gicdIidr,
} from '../uapi/gic.ts';
import {
  INTERRUPT_ID_BITS_ITS,
  INTERRUPT_ID_BITS_SPIS,
  KVM_VGIC_IMP_REV_3,
  KVM_VGIC_V3_REDIST_SIZE,
  VGIC_MIN_LPI,
  VGIC_NR_PRIVATE_IRQS,
} from '../uapi/kvm.ts';
import { queueIrq } from './ap-list.ts';
import { extractBytes, sanitiseBaserFields, update64bitReg } from './baser.ts';
import { iidrUserWrite } from './iidr.ts';
import { invalidateAllCaches } from './its/state.ts';
import { vgicEnableLpis, vgicFlushPendingLpis, vgicGetLpi, vgicItsInvLpi, vgicItsInvall, vgicLpisEnabled } from './lpi.ts';
import {
  type ReadFn,
  type RegisterRow,
  RegisterTable,
  type UWriteFn,
  VGIC_ACCESS_32bit,
  VGIC_ACCESS_64bit,
  VGIC_ACCESS_8bit,
  type WriteFn,
  addrToIntid,
  perIrq,
  readActive,
  readConfig,
  readEnable,
  readGroup,
  readPending,
  readPriority,
  readRao,
  readRaz,
  reg,
  uaccessWriteCactive,
  uaccessWriteCenable,
  uaccessWriteSactive,
  uaccessWriteSenable,
  uaccessWriteWi,
  writeCactive,
  writeCenable,
  writeConfig,
  writeCpending,
  writeGroup,
  writePriority,
  writeSactive,
  writeSenable,
  writeSpending,
  writeWi,
} from './mmio.ts';
import type { VgicCpu, VgicDist } from './state.ts';

const A32 = VGIC_ACCESS_32bit;
const A8_32 = VGIC_ACCESS_8bit | VGIC_ACCESS_32bit;
const A32_64 = VGIC_ACCESS_32bit | VGIC_ACCESS_64bit;

/** Host has GICv4.1 direct vSGIs (system_supports_direct_sgis). */
function hostDirectSgis(dist: VgicDist): boolean {
  return dist.caps.directSgis;
}

/**
 * vgic_supports_direct_sgis(): the VM's nASSGIcap, which userspace may clear through GICD_TYPER2
 * (vgic-mmio-v3.c: "return kvm->arch.vgic.nassgicap"); it is set from the host at creation.
 */
function vmDirectSgis(dist: VgicDist): boolean {
  return dist.nassgicap;
}

// --- GICD_CTLR / TYPER / IIDR / TYPER2 --------------------------------------------------------

/** vgic_mmio_read_v3_misc() */
export const readV3Misc: ReadFn = ({ dist }, offset) => {
  switch (offset & 0x0c) {
    case GICD_CTLR: {
      let v = GICD_CTLR_ARE_NS | GICD_CTLR_DS;
      if (dist.enabled) v |= GICD_CTLR_ENABLE_SS_G1;
      if (dist.nassgireq) v |= GICD_CTLR_nASSGIreq;
      return v;
    }
    case GICD_TYPER: {
      let v = (dist.nrIrqs >>> 5) - 1;
      if (dist.hasIts) v |= ((INTERRUPT_ID_BITS_ITS - 1) << 19) | GICD_TYPER_LPIS;
      else v |= (INTERRUPT_ID_BITS_SPIS - 1) << 19;
      return v >>> 0;
    }
    case GICD_IIDR:
      return gicdIidr(dist.implementationRev);
    case GICD_TYPER2:
      return dist.nassgicap ? GICD_TYPER2_nASSGIcap : 0;
  }
  return 0;
};

/** vgic_mmio_write_v3_misc(): only GICD_CTLR is writable by the guest. */
export const writeV3Misc: WriteFn = ({ dist }, offset, _len, val) => {
  if ((offset & 0x0c) !== GICD_CTLR) return; // TYPER, IIDR, TYPER2: WI
  const wasEnabled = dist.enabled;
  const wasHwSgi = dist.nassgireq;
  dist.enabled = (val & GICD_CTLR_ENABLE_SS_G1) !== 0;
  let req = (val & GICD_CTLR_nASSGIreq) !== 0;
  if (!vmDirectSgis(dist)) req = false; // "Not a GICv4.1? No HW SGIs": the VM's nASSGIcap
  if (wasEnabled && dist.enabled) req = wasHwSgi; // dist stays enabled: nASSGIreq is RO
  dist.nassgireq = req;
  if (!wasEnabled && dist.enabled) dist.kick();
};

/** vgic_mmio_uaccess_write_v3_misc() */
export const uaccessWriteV3Misc: UWriteFn = (ctx, offset, len, val) => {
  const { dist } = ctx;
  switch (offset & 0x0c) {
    case GICD_TYPER2: {
      const cur = readV3Misc(ctx, offset, len);
      if (cur === val) return 0;
      // 6.1/6.12 (vgic-mmio-v3.c): "if (val != vgic_mmio_read_v3_misc(...)) return -EINVAL;"
      if (dist.profile.typer2UserWrite === 'exact') return -EINVAL;
      if (dist.initialized) return -EBUSY;
      if ((cur ^ val) & ~GICD_TYPER2_nASSGIcap) return -EINVAL;
      if (!hostDirectSgis(dist) && val & GICD_TYPER2_nASSGIcap) return -EINVAL;
      dist.nassgicap = (val & GICD_TYPER2_nASSGIcap) !== 0;
      return 0;
    }
    case GICD_IIDR:
      return iidrUserWrite(dist, readV3Misc(ctx, offset, len), val, 'v3');
    case GICD_CTLR:
      dist.enabled = (val & GICD_CTLR_ENABLE_SS_G1) !== 0;
      dist.nassgireq = vmDirectSgis(dist) && (val & GICD_CTLR_nASSGIreq) !== 0;
      return 0;
  }
  writeV3Misc(ctx, offset, len, val);
  return 0;
};

/** vgic_mmio_read_v3_idregs(): PIDR2 = GICv3 architecture (0x3B), everything else 0. */
export const readV3Idregs: ReadFn = (_ctx, offset) => ((offset & 0xffff) === GICD_PIDR2 ? 0x3b : 0);

// --- IROUTER ------------------------------------------------------------------------------------

/** vgic_mmio_read_irouter(): the upper word (Aff3) is RAZ. */
const readIrouter: ReadFn = (ctx, offset) => {
  if (offset & 4) return 0;
  const irq = ctx.dist.getIrq(ctx.vcpu, addrToIntid(offset, 64));
  return irq ? irq.mpidr : 0;
};

/** vgic_mmio_write_irouter(): keep Aff2:Aff1:Aff0 only; IRM and Aff3 are dropped. */
const writeIrouter: WriteFn = (ctx, offset, _len, val) => {
  if (offset & 4) return;
  const irq = ctx.dist.getIrq(ctx.vcpu, addrToIntid(offset, 64));
  if (!irq) return;
  irq.mpidr = val & 0xffffff;
  const target = ctx.dist.vcpuByMpidr(irq.mpidr);
  irq.targetVcpu = target ? target.vcpuIdx : -1;
  ctx.dist.kick();
};

// --- pending, userspace view ---------------------------------------------------------------------

/** vgic_uaccess_read_pending() for v3 (__read_pending is_user): the latch only. */
const uaccessReadPendingV3: ReadFn = (ctx, offset, len) => {
  let v = 0;
  const intid = addrToIntid(offset, 1);
  for (let i = 0; i < len * 8; i++) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + i);
    if (irq?.pendingLatch) v |= 1 << i;
  }
  return v >>> 0;
};

/** vgic_v3_uaccess_write_pending(): assigns the latch whatever the trigger type. */
const uaccessWritePendingV3: UWriteFn = (ctx, offset, len, val) => {
  const intid = addrToIntid(offset, 1);
  for (let i = 0; i < len * 8; i++) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + i);
    if (!irq) continue;
    irq.pendingLatch = ((val >>> i) & 1) === 1;
    if (irq.pendingLatch) queueIrq(ctx.dist, irq);
  }
  return 0;
};

// --- redistributor RD_base ---------------------------------------------------------------------

/** vgic_mmio_read_v3r_ctlr(): EnableLPIs, plus IR|CES from implementation revision 3. */
const readV3rCtlr: ReadFn = ({ dist, vcpu }) => {
  let v = vcpu.lpisEnabled ? GICR_CTLR_ENABLE_LPIS : 0;
  if (dist.profile.ctlrIrCesAtRev3 && dist.implementationRev >= KVM_VGIC_IMP_REV_3) {
    v |= GICR_CTLR_IR | GICR_CTLR_CES;
  }
  return v;
};

/**
 * vgic_mmio_write_v3r_ctlr(): EnableLPIs only, and only with an ITS. Turning LPIs on syncs the
 * pending table (vgic_enable_lpis); turning them off drops the LPIs queued on this vCPU and every
 * ITS translation cache (vgic_flush_pending_lpis, vgic_its_invalidate_all_caches). The RWP window
 * of the kernel's cmpxchg sequence is never visible: the model completes the disable at once.
 */
const writeV3rCtlr: WriteFn = ({ dist, vcpu }, _offset, _len, val) => {
  if (!dist.hasIts) return;
  if (!(val & GICR_CTLR_ENABLE_LPIS)) {
    if (!vcpu.lpisEnabled) return;
    vgicFlushPendingLpis(dist, vcpu);
    invalidateAllCaches(dist);
    vcpu.lpisEnabled = false;
  } else {
    if (vcpu.lpisEnabled) return;
    vcpu.lpisEnabled = true;
    vgicEnableLpis(dist, vcpu);
  }
};

/** vgic_mmio_read_v3r_iidr(): no revision field. */
const readV3rIidr: ReadFn = () => gicdIidr(0);

/** vgic_mmio_vcpu_rdist_is_last() */
export function rdistIsLast(dist: VgicDist, vcpu: VgicCpu): boolean {
  const rdreg = vcpu.rdreg;
  if (!rdreg) return false;
  if (vcpu.rdregIndex < rdreg.freeIndex - 1) return false;
  if (rdreg.count && vcpu.rdregIndex === rdreg.count - 1) {
    const end = rdreg.base + rdreg.count * KVM_VGIC_V3_REDIST_SIZE;
    for (const r of dist.rdRegions) if (r.base === end && r.freeIndex > 0) return false;
  }
  return true;
}

/** vgic_mmio_read_v3r_typer(): affinity in [55:32], Processor_Number = vcpu_id, PLPIS, Last. */
const readV3rTyper: ReadFn = ({ dist, vcpu }, offset) => {
  if (offset & 4) return vcpu.mpidr & 0xffffff; // bits 63:32, Aff3 dropped
  let lo = (vcpu.vcpuId & 0xffff) << 8;
  if (dist.hasIts) lo |= GICR_TYPER_PLPIS;
  if (rdistIsLast(dist, vcpu)) lo |= GICR_TYPER_LAST;
  return lo >>> 0;
};

/** PTZ (bit 62) always reads 0 (vgic_mmio_read_pendbase). */
const GICR_PENDBASER_PTZ_HI = 1 << 30;

/** vgic_sanitise_{propbaser,pendbaser}: shareability [11:10], inner [9:7], outer [58:56], then RES0. */
function sanitiseBaser(reg: bigint, res0: bigint): bigint {
  return sanitiseBaserFields(reg, 10n, 7n, 56n) & ~res0;
}
/** PROPBASER_RES0_MASK: [63:59], [55:52], [6:5]. */
const PROPBASER_RES0 = (0x1fn << 59n) | (0xfn << 52n) | (0x3n << 5n);
/** PENDBASER_RES0_MASK: 63, [61:59], [55:52], [15:12], [6:0]. */
const PENDBASER_RES0 = (1n << 63n) | (0x7n << 59n) | (0xfn << 52n) | (0xfn << 12n) | 0x7fn;

/** vgic_mmio_read_propbase(): one PROPBASER for the whole VM. */
const readPropbase: ReadFn = ({ dist }, offset) => Number(extractBytes(dist.propbaser, offset, 4));
/** vgic_mmio_write_propbase(): ignored once this redistributor's LPIs are on. */
const writePropbase: WriteFn = ({ dist, vcpu }, offset, _len, val) => {
  if (vcpu.lpisEnabled) return;
  // vgic-mmio-v3.c: vgic_mmio_write_propbase stores vgic_sanitise_propbaser(value)
  dist.propbaser = sanitiseBaser(update64bitReg(dist.propbaser, offset, 4, BigInt(val >>> 0)), PROPBASER_RES0);
};
const readPendbase: ReadFn = ({ vcpu }, offset) => {
  const v = Number(extractBytes(vcpu.pendbaser, offset, 4));
  return offset & 4 ? (v & ~GICR_PENDBASER_PTZ_HI) >>> 0 : v;
};
const writePendbase: WriteFn = ({ vcpu }, offset, _len, val) => {
  if (vcpu.lpisEnabled) return;
  // vgic-mmio-v3.c: vgic_mmio_write_pendbase stores vgic_sanitise_pendbaser(value)
  vcpu.pendbaser = sanitiseBaser(update64bitReg(vcpu.pendbaser, offset, 4, BigInt(val >>> 0)), PENDBASER_RES0);
};

/**
 * vgic_mmio_write_invlpi(): re-read one LPI's property byte. A write to the upper half (vPE) or
 * with this redistributor's LPIs off is dropped, as is an INTID below 8192 or one not mapped.
 */
const writeInvlpi: WriteFn = ({ dist, vcpu }, offset, _len, val) => {
  if (offset & 4 || !vgicLpisEnabled(vcpu)) return;
  const intid = val >>> 0;
  if (intid < VGIC_MIN_LPI) return;
  const lpi = vgicGetLpi(dist, intid);
  if (lpi) vgicItsInvLpi(dist, lpi);
};

/** vgic_mmio_write_invall(): re-read the property bytes of every LPI targeting this vCPU. */
const writeInvall: WriteFn = ({ dist, vcpu }, offset) => {
  if (offset & 4 || !vgicLpisEnabled(vcpu)) return;
  vgicItsInvall(dist, vcpu);
};

// --- tables ------------------------------------------------------------------------------------

/**
 * REGISTER_DESC_WITH_BITS_PER_IRQ_SHARED: the private part (first 32 INTIDs) is a RAZ/WI row
 * of its own, with no userspace override; the SPI part has the real handlers.
 */
function shared(
  offset: number,
  bitsPerIrq: number,
  access: number,
  name: string,
  ref: string,
  read: ReadFn,
  write: WriteFn,
  uaccessRead?: ReadFn,
  uaccessWrite?: UWriteFn,
): RegisterRow[] {
  const privLen = (bitsPerIrq * VGIC_NR_PRIVATE_IRQS) / 8;
  const spiRow = perIrq(offset, bitsPerIrq, { name, read, write, uaccessRead, uaccessWrite, access, ref });
  return [
    { name: `${name} (private, RAZ/WI)`, offset, len: privLen, bitsPerIrq, access, read: readRaz, write: writeWi, ref },
    { ...spiRow, offset: offset + privLen, len: spiRow.len - privLen },
  ];
}

const F = 'vgic-mmio-v3.c';

export const V3_DIST_ROWS: readonly RegisterRow[] = [
  reg(GICD_CTLR, 16, { name: 'GICD_CTLR/TYPER/IIDR/TYPER2', read: readV3Misc, write: writeV3Misc, uaccessWrite: uaccessWriteV3Misc, access: A32, ref: `${F}: vgic_mmio_read_v3_misc` }),
  reg(GICD_STATUSR, 4, { name: 'GICD_STATUSR', read: readRao, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_rao` }),
  ...shared(GICD_IGROUPR, 1, A32, 'GICD_IGROUPR', 'vgic-mmio.c: vgic_mmio_read_group', readGroup, writeGroup),
  ...shared(GICD_ISENABLER, 1, A32, 'GICD_ISENABLER', 'vgic-mmio.c: vgic_mmio_write_senable', readEnable, writeSenable, undefined, uaccessWriteSenable),
  ...shared(GICD_ICENABLER, 1, A32, 'GICD_ICENABLER', 'vgic-mmio.c: vgic_mmio_write_cenable', readEnable, writeCenable, undefined, uaccessWriteCenable),
  ...shared(GICD_ISPENDR, 1, A32, 'GICD_ISPENDR', `${F}: vgic_v3_uaccess_write_pending`, readPending, writeSpending, uaccessReadPendingV3, uaccessWritePendingV3),
  ...shared(GICD_ICPENDR, 1, A32, 'GICD_ICPENDR', 'vgic-mmio.c: vgic_mmio_write_cpending', readPending, writeCpending, readRaz, uaccessWriteWi),
  ...shared(GICD_ISACTIVER, 1, A32, 'GICD_ISACTIVER', 'vgic-mmio.c: vgic_mmio_write_sactive', readActive, writeSactive, readActive, uaccessWriteSactive),
  ...shared(GICD_ICACTIVER, 1, A32, 'GICD_ICACTIVER', 'vgic-mmio.c: vgic_mmio_write_cactive', readActive, writeCactive, readActive, uaccessWriteCactive),
  ...shared(GICD_IPRIORITYR, 8, A8_32, 'GICD_IPRIORITYR', 'vgic-mmio.c: vgic_mmio_write_priority', readPriority, writePriority),
  ...shared(GICD_ITARGETSR, 8, A8_32, 'GICD_ITARGETSR', `${F}: vgic_v3_dist_registers (RAZ/WI with ARE)`, readRaz, writeWi),
  ...shared(GICD_ICFGR, 2, A32, 'GICD_ICFGR', 'vgic-mmio.c: vgic_mmio_write_config', readConfig, writeConfig),
  ...shared(GICD_IGRPMODR, 1, A32, 'GICD_IGRPMODR', `${F}: vgic_v3_dist_registers (RAZ/WI)`, readRaz, writeWi),
  ...shared(GICD_IROUTER, 64, A32_64, 'GICD_IROUTER', `${F}: vgic_mmio_write_irouter`, readIrouter, writeIrouter),
  reg(GICD_IDREGS, 48, { name: 'GICD_IDREGS', read: readV3Idregs, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_v3_idregs` }),
];

export const V3_RD_ROWS: readonly RegisterRow[] = [
  reg(GICR_CTLR, 4, { name: 'GICR_CTLR', read: readV3rCtlr, write: writeV3rCtlr, access: A32, ref: `${F}: vgic_mmio_read_v3r_ctlr` }),
  // Second in the kernel's array although 0x10 > 0x4: bsearch never finds it (see RegisterTable).
  reg(GICR_STATUSR, 4, { name: 'GICR_STATUSR', read: readRaz, write: writeWi, access: A32, ref: `${F}: vgic_v3_rd_registers (RAZ/WI)` }),
  reg(GICR_IIDR, 4, { name: 'GICR_IIDR', read: readV3rIidr, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_v3r_iidr` }),
  reg(GICR_TYPER, 8, { name: 'GICR_TYPER', read: readV3rTyper, write: writeWi, uaccessWrite: uaccessWriteWi, access: A32_64, ref: `${F}: vgic_mmio_read_v3r_typer` }),
  reg(GICR_WAKER, 4, { name: 'GICR_WAKER', read: readRaz, write: writeWi, access: A32, ref: `${F}: vgic_v3_rd_registers (RAZ/WI)` }),
  reg(GICR_PROPBASER, 8, { name: 'GICR_PROPBASER', read: readPropbase, write: writePropbase, access: A32_64, ref: `${F}: vgic_mmio_write_propbase` }),
  reg(GICR_PENDBASER, 8, { name: 'GICR_PENDBASER', read: readPendbase, write: writePendbase, access: A32_64, ref: `${F}: vgic_mmio_write_pendbase` }),
  reg(GICR_INVLPIR, 8, { name: 'GICR_INVLPIR', read: readRaz, write: writeInvlpi, access: A32_64, ref: `${F}: vgic_mmio_write_invlpi` }),
  reg(GICR_INVALLR, 8, { name: 'GICR_INVALLR', read: readRaz, write: writeInvall, access: A32_64, ref: `${F}: vgic_mmio_write_invall` }),
  // vgic_mmio_read_sync(): syncr_busy is only set inside an INVLPIR/INVALLR write, which the
  // model completes before the guest can read again, so Busy always reads 0.
  reg(GICR_SYNCR, 4, { name: 'GICR_SYNCR', read: readRaz, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_sync` }),
  reg(GICR_IDREGS, 48, { name: 'GICR_IDREGS', read: readV3Idregs, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_v3_idregs` }),
  reg(SZ_64K + GICR_IGROUPR0, 4, { name: 'GICR_IGROUPR0', read: readGroup, write: writeGroup, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_group' }),
  reg(SZ_64K + GICR_ISENABLER0, 4, { name: 'GICR_ISENABLER0', read: readEnable, write: writeSenable, uaccessWrite: uaccessWriteSenable, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_senable' }),
  reg(SZ_64K + GICR_ICENABLER0, 4, { name: 'GICR_ICENABLER0', read: readEnable, write: writeCenable, uaccessWrite: uaccessWriteCenable, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_cenable' }),
  reg(SZ_64K + GICR_ISPENDR0, 4, { name: 'GICR_ISPENDR0', read: readPending, write: writeSpending, uaccessRead: uaccessReadPendingV3, uaccessWrite: uaccessWritePendingV3, access: A32, ref: `${F}: vgic_v3_uaccess_write_pending` }),
  reg(SZ_64K + GICR_ICPENDR0, 4, { name: 'GICR_ICPENDR0', read: readPending, write: writeCpending, uaccessRead: readRaz, uaccessWrite: uaccessWriteWi, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_cpending' }),
  reg(SZ_64K + GICR_ISACTIVER0, 4, { name: 'GICR_ISACTIVER0', read: readActive, write: writeSactive, uaccessRead: readActive, uaccessWrite: uaccessWriteSactive, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_sactive' }),
  reg(SZ_64K + GICR_ICACTIVER0, 4, { name: 'GICR_ICACTIVER0', read: readActive, write: writeCactive, uaccessRead: readActive, uaccessWrite: uaccessWriteCactive, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_cactive' }),
  reg(SZ_64K + GICR_IPRIORITYR0, 32, { name: 'GICR_IPRIORITYR', read: readPriority, write: writePriority, access: A8_32, ref: 'vgic-mmio.c: vgic_mmio_write_priority' }),
  reg(SZ_64K + GICR_ICFGR0, 8, { name: 'GICR_ICFGR', read: readConfig, write: writeConfig, access: A32, ref: 'vgic-mmio.c: vgic_mmio_write_config' }),
  reg(SZ_64K + GICR_IGRPMODR0, 4, { name: 'GICR_IGRPMODR0', read: readRaz, write: writeWi, access: A32, ref: `${F}: vgic_v3_rd_registers (RAZ/WI)` }),
  reg(SZ_64K + GICR_NSACR, 4, { name: 'GICR_NSACR', read: readRaz, write: writeWi, access: A32, ref: `${F}: vgic_v3_rd_registers (RAZ/WI)` }),
];

export const V3_DIST_TABLE = new RegisterTable('GICv3 distributor', V3_DIST_ROWS, 0x10000);
export const V3_RD_TABLE = new RegisterTable('GICv3 redistributor', V3_RD_ROWS, 0x20000);


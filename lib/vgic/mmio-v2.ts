// GICv2 distributor map and the userspace-only CPU interface map
// (vgic-mmio-v2.c: vgic_v2_dist_registers, vgic_v2_cpu_registers).

import {
  GICC_ABPR,
  GICC_APR0,
  GICC_BPR,
  GICC_CTLR,
  GICC_IIDR,
  GICC_PMR,
  GIC_CPU_DEACTIVATE,
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
  GICD_SGIR,
  GICD_SPENDSGIR,
  GICD_TYPER,
  gicdIidr,
} from '../uapi/gic.ts';
import { PRODUCT_ID_KVM, IMPLEMENTER_ARM, VGIC_NR_PRIVATE_IRQS } from '../uapi/kvm.ts';
import { queueIrq } from './ap-list.ts';
import { iidrUserWrite } from './iidr.ts';
import {
  type ReadFn,
  type RegisterRow,
  RegisterTable,
  type UWriteFn,
  VGIC_ACCESS_32bit,
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
  readRaz,
  reg,
  uaccessWriteCactive,
  uaccessWriteCenable,
  uaccessWriteCpending,
  uaccessWriteSactive,
  uaccessWriteSenable,
  uaccessWriteSpending,
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
import { maxAprIdx } from './cpuif-regs.ts';

const A32 = VGIC_ACCESS_32bit;
const A8_32 = VGIC_ACCESS_8bit | VGIC_ACCESS_32bit;
const GICD_ENABLE = 1;

/** vgic_mmio_read_v2_misc(): CTLR.Enable, TYPER with the CPU count, IIDR. */
const readV2Misc: ReadFn = ({ dist }, offset) => {
  switch (offset & 0x0c) {
    case GICD_CTLR:
      return dist.enabled ? GICD_ENABLE : 0;
    case GICD_TYPER: {
      const v = ((dist.nrIrqs >>> 5) - 1) | ((dist.vcpus.length - 1) << 5);
      return v >>> 0;
    }
    case GICD_IIDR:
      return gicdIidr(dist.implementationRev);
  }
  return 0;
};

/** vgic_mmio_write_v2_misc(): only CTLR.Enable; enabling kicks the vCPUs. */
const writeV2Misc: WriteFn = ({ dist }, offset, _len, val) => {
  if ((offset & 0x0c) !== GICD_CTLR) return;
  const was = dist.enabled;
  dist.enabled = (val & GICD_ENABLE) !== 0;
  if (!was && dist.enabled) dist.kick();
};

/** vgic_mmio_uaccess_write_v2_misc() */
const uaccessWriteV2Misc: UWriteFn = (ctx, offset, len, val) => {
  if ((offset & 0x0c) === GICD_IIDR) return iidrUserWrite(ctx.dist, readV2Misc(ctx, offset, len), val, 'v2');
  writeV2Misc(ctx, offset, len, val);
  return 0;
};

/**
 * vgic_mmio_uaccess_write_v2_group(): before patch 3, only after userspace opted in by writing
 * GICD_IIDR (v2_groups_user_writable); after it, whenever the revision is >= 2.
 */
const uaccessWriteV2Group: UWriteFn = (ctx, offset, len, val) => {
  const { dist } = ctx;
  const allowed =
    dist.profile.v2UserGroupGate === 'flag' ? dist.v2GroupsUserWritable : dist.implementationRev >= 2;
  if (allowed) writeGroup(ctx, offset, len, val);
  return 0;
};

/** vgic_mmio_read_target(): one targets byte per IRQ (private ones show the reader's bit). */
const readTarget: ReadFn = (ctx, offset, len) => {
  const intid = addrToIntid(offset, 8);
  let v = 0;
  for (let i = 0; i < len; i++) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + i);
    if (irq) v |= irq.targets << (i * 8);
  }
  return v >>> 0;
};

/** vgic_mmio_write_target(): ITARGETSR0-7 are RO; SPIs keep online-vCPU bits, lowest wins, else vCPU 0. */
const writeTarget: WriteFn = (ctx, offset, len, val) => {
  const intid = addrToIntid(offset, 8);
  if (intid < VGIC_NR_PRIVATE_IRQS) return;
  const cpuMask = (1 << ctx.dist.vcpus.length) - 1;
  for (let i = 0; i < len; i++) {
    const irq = ctx.dist.getIrq(ctx.vcpu, intid + i);
    if (!irq) continue;
    irq.targets = (val >>> (i * 8)) & cpuMask;
    irq.targetVcpu = irq.targets ? 31 - Math.clz32(irq.targets & -irq.targets) : 0;
  }
  ctx.dist.kick();
};

/** vgic_mmio_write_sgir(): SGIINTID [3:0], CPUTargetList [23:16], TargetListFilter [25:24]. */
const writeSgir: WriteFn = (ctx, _offset, _len, val) => {
  const { dist, vcpu: source } = ctx;
  const nr = dist.vcpus.length;
  const intid = val & 0xf;
  let targets = (val >>> 16) & 0xff;
  switch ((val >>> 24) & 3) {
    case 0:
      break;
    case 1:
      targets = ((1 << nr) - 1) & ~(1 << source.vcpuId);
      break;
    case 2:
      targets = 1 << source.vcpuId;
      break;
    default:
      return;
  }
  for (const v of dist.vcpus) {
    if (!(targets & (1 << v.vcpuIdx))) continue;
    const irq = v.privateIrqs[intid]!;
    irq.pendingLatch = true;
    irq.source |= 1 << source.vcpuId;
    queueIrq(dist, irq);
  }
};

/** vgic_mmio_read_sgipend(): one source byte per SGI. */
const readSgipend: ReadFn = (ctx, offset, len) => {
  const intid = offset & 0xf;
  let v = 0;
  for (let i = 0; i < len; i++) v |= ctx.vcpu.privateIrqs[intid + i]!.source << (i * 8);
  return v >>> 0;
};

/** vgic_mmio_write_sgipendc(): drop sources; the SGI stops pending when none is left. */
const writeSgipendc: WriteFn = (ctx, offset, len, val) => {
  const intid = offset & 0xf;
  for (let i = 0; i < len; i++) {
    const irq = ctx.vcpu.privateIrqs[intid + i]!;
    irq.source &= ~((val >>> (i * 8)) & 0xff);
    if (!irq.source) irq.pendingLatch = false;
  }
};

/** vgic_mmio_write_sgipends(): add sources; pending if any. */
const writeSgipends: WriteFn = (ctx, offset, len, val) => {
  const intid = offset & 0xf;
  for (let i = 0; i < len; i++) {
    const irq = ctx.vcpu.privateIrqs[intid + i]!;
    irq.source |= (val >>> (i * 8)) & 0xff;
    if (irq.source) {
      irq.pendingLatch = true;
      queueIrq(ctx.dist, irq);
    }
  }
};

const F = 'vgic-mmio-v2.c';
const M = 'vgic-mmio.c';

export const V2_DIST_ROWS: readonly RegisterRow[] = [
  reg(GICD_CTLR, 12, { name: 'GICD_CTLR/TYPER/IIDR', read: readV2Misc, write: writeV2Misc, uaccessWrite: uaccessWriteV2Misc, access: A32, ref: `${F}: vgic_mmio_read_v2_misc` }),
  perIrq(GICD_IGROUPR, 1, { name: 'GICD_IGROUPR', read: readGroup, write: writeGroup, uaccessWrite: uaccessWriteV2Group, access: A32, ref: `${F}: vgic_mmio_uaccess_write_v2_group` }),
  perIrq(GICD_ISENABLER, 1, { name: 'GICD_ISENABLER', read: readEnable, write: writeSenable, uaccessWrite: uaccessWriteSenable, access: A32, ref: `${M}: vgic_mmio_write_senable` }),
  perIrq(GICD_ICENABLER, 1, { name: 'GICD_ICENABLER', read: readEnable, write: writeCenable, uaccessWrite: uaccessWriteCenable, access: A32, ref: `${M}: vgic_mmio_write_cenable` }),
  perIrq(GICD_ISPENDR, 1, { name: 'GICD_ISPENDR', read: readPending, write: writeSpending, uaccessRead: readPending, uaccessWrite: uaccessWriteSpending, access: A32, ref: `${M}: vgic_uaccess_write_spending` }),
  perIrq(GICD_ICPENDR, 1, { name: 'GICD_ICPENDR', read: readPending, write: writeCpending, uaccessRead: readPending, uaccessWrite: uaccessWriteCpending, access: A32, ref: `${M}: vgic_uaccess_write_cpending` }),
  perIrq(GICD_ISACTIVER, 1, { name: 'GICD_ISACTIVER', read: readActive, write: writeSactive, uaccessRead: readActive, uaccessWrite: uaccessWriteSactive, access: A32, ref: `${M}: vgic_mmio_uaccess_write_sactive` }),
  perIrq(GICD_ICACTIVER, 1, { name: 'GICD_ICACTIVER', read: readActive, write: writeCactive, uaccessRead: readActive, uaccessWrite: uaccessWriteCactive, access: A32, ref: `${M}: vgic_mmio_uaccess_write_cactive` }),
  perIrq(GICD_IPRIORITYR, 8, { name: 'GICD_IPRIORITYR', read: readPriority, write: writePriority, access: A8_32, ref: `${M}: vgic_mmio_write_priority` }),
  perIrq(GICD_ITARGETSR, 8, { name: 'GICD_ITARGETSR', read: readTarget, write: writeTarget, access: A8_32, ref: `${F}: vgic_mmio_write_target` }),
  perIrq(GICD_ICFGR, 2, { name: 'GICD_ICFGR', read: readConfig, write: writeConfig, access: A32, ref: `${M}: vgic_mmio_write_config` }),
  reg(GICD_SGIR, 4, { name: 'GICD_SGIR', read: readRaz, write: writeSgir, access: A32, ref: `${F}: vgic_mmio_write_sgir` }),
  reg(GICD_CPENDSGIR, 16, { name: 'GICD_CPENDSGIR', read: readSgipend, write: writeSgipendc, access: A8_32, ref: `${F}: vgic_mmio_write_sgipendc` }),
  reg(GICD_SPENDSGIR, 16, { name: 'GICD_SPENDSGIR', read: readSgipend, write: writeSgipends, access: A8_32, ref: `${F}: vgic_mmio_write_sgipends` }),
];

// --- CPU interface, userspace only (the guest sees the hardware GICV page) ---------------------

const GICC_ARCH_VERSION_V2 = 2;

/** vgic_mmio_read_vcpuif(): VMCR fields in GICC layout; PMR in the 5-bit VMCR format. */
const readVcpuif: ReadFn = ({ vcpu }, offset) => {
  const c = vcpu.cpuif;
  switch (offset & 0xff) {
    case GICC_CTLR:
      return c.igrpen0 | (c.igrpen1 << 1) | (c.ackctl << 2) | (c.fiqen << 3) | (c.cbpr << 4) | (c.eoimode << 9);
    case GICC_PMR:
      return (c.pmr & 0xf8) >>> 3;
    case GICC_BPR:
      return c.bpr0;
    case GICC_ABPR:
      return c.bpr1;
    case GICC_IIDR:
      return ((PRODUCT_ID_KVM << 20) | (GICC_ARCH_VERSION_V2 << 16) | IMPLEMENTER_ARM) >>> 0;
  }
  return 0;
};

/** vgic_mmio_write_vcpuif() */
const writeVcpuif: WriteFn = ({ vcpu }, offset, _len, val) => {
  const c = vcpu.cpuif;
  switch (offset & 0xff) {
    case GICC_CTLR:
      c.igrpen0 = val & 1;
      c.igrpen1 = (val >>> 1) & 1;
      c.ackctl = (val >>> 2) & 1;
      c.fiqen = (val >>> 3) & 1;
      c.cbpr = (val >>> 4) & 1;
      c.eoimode = (val >>> 9) & 1;
      break;
    case GICC_PMR:
      c.pmr = (val << 3) & 0xf8;
      break;
    case GICC_BPR:
      c.bpr0 = val & 7;
      break;
    case GICC_ABPR:
      c.bpr1 = val & 7;
      break;
  }
};

/** vgic_mmio_read_apr() on a GICv3 host: ICH_AP1Rn, n bounded by the priority bits. */
const readApr: ReadFn = ({ vcpu }, offset) => {
  const n = (offset >>> 2) & 3;
  return n > maxAprIdx(vcpu.cpuif.numPriBits) ? 0 : vcpu.cpuif.ap1r[n]!;
};
const writeApr: WriteFn = ({ vcpu }, offset, _len, val) => {
  const n = (offset >>> 2) & 3;
  if (n > maxAprIdx(vcpu.cpuif.numPriBits)) return;
  vcpu.cpuif.ap1r[n] = val >>> 0;
};

export const V2_CPU_ROWS: readonly RegisterRow[] = [
  reg(GICC_CTLR, 4, { name: 'GICC_CTLR', read: readVcpuif, write: writeVcpuif, access: A32, ref: `${F}: vgic_mmio_read_vcpuif` }),
  reg(GICC_PMR, 4, { name: 'GICC_PMR', read: readVcpuif, write: writeVcpuif, access: A32, ref: `${F}: vgic_mmio_read_vcpuif` }),
  reg(GICC_BPR, 4, { name: 'GICC_BPR', read: readVcpuif, write: writeVcpuif, access: A32, ref: `${F}: vgic_mmio_read_vcpuif` }),
  reg(GICC_ABPR, 4, { name: 'GICC_ABPR', read: readVcpuif, write: writeVcpuif, access: A32, ref: `${F}: vgic_mmio_read_vcpuif` }),
  reg(GICC_APR0, 16, { name: 'GICC_APRn', read: readApr, write: writeApr, access: A32, ref: `${F}: vgic_mmio_read_apr` }),
  reg(GICC_IIDR, 4, { name: 'GICC_IIDR', read: readVcpuif, write: writeWi, access: A32, ref: `${F}: vgic_mmio_read_vcpuif` }),
  // GICC_DIR: RAZ/WI for userspace (the guest's writes go to the hardware GICV page).
  reg(GIC_CPU_DEACTIVATE, 4, { name: 'GICC_DIR', read: readRaz, write: writeWi, uaccessRead: readRaz, uaccessWrite: uaccessWriteWi, access: A32, present: (p) => p.v2CpuDirUaccess, ref: `${F}: vgic_v2_cpu_registers (GIC_CPU_DEACTIVATE)` }),
];

export const V2_DIST_TABLE = new RegisterTable('GICv2 distributor', V2_DIST_ROWS, 0x1000);
export const V2_CPU_TABLE = new RegisterTable('GICv2 CPU interface (uaccess)', V2_CPU_ROWS, 0x2000);

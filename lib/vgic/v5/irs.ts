// The emulated IRS CONFIG_FRAME as a register table (IRS series vgic-irs-v5.c:
// vgic_v5_irs_registers[]): one row per register with its width, the guest read/write handlers
// and the userspace (uaccess) handlers. The guest reaches the rows by MMIO once the VM has run;
// userspace through KVM_DEV_ARM_VGIC_GRP_IRS_REGS (vgic_v5_irs_attr_regs_access).

import { EBUSY, EINVAL, ENOMEM, ENXIO } from '../../uapi/errno.ts';
import {
  GICV5_AIDR_COMPONENT_IRS,
  GICV5_HWIRQ_TYPE_LPI,
  GICV5_IRS_AIDR,
  GICV5_IRS_AIDR_COMPONENT_SHIFT,
  GICV5_IRS_CR0,
  GICV5_IRS_CR0_IDLE,
  GICV5_IRS_CR0_IRSEN,
  GICV5_IRS_CR1,
  GICV5_IRS_IDR0,
  GICV5_IRS_IDR0_INT_DOM_MASK,
  GICV5_IRS_IDR0_INT_DOM_NON_SECURE,
  GICV5_IRS_IDR0_IRSID_SHIFT,
  GICV5_IRS_IDR0_MEC,
  GICV5_IRS_IDR0_MPAM,
  GICV5_IRS_IDR0_ONE_N,
  GICV5_IRS_IDR0_PA_RANGE_SHIFT,
  GICV5_IRS_IDR0_SETLPI,
  GICV5_IRS_IDR0_SWE,
  GICV5_IRS_IDR0_VIRT,
  GICV5_IRS_IDR0_VIRT_ONE_N,
  GICV5_IRS_IDR1,
  GICV5_IRS_IDR1_IAFFID_BITS_SHIFT,
  GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT,
  GICV5_IRS_IDR2,
  GICV5_IRS_IDR2_ID_BITS_MASK,
  GICV5_IRS_IDR2_IST_L2SZ_SHIFT,
  GICV5_IRS_IDR2_IST_LEVELS,
  GICV5_IRS_IDR2_ISTMD,
  GICV5_IRS_IDR2_ISTMD_SZ_SHIFT,
  GICV5_IRS_IDR2_LPI,
  GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT,
  GICV5_IRS_IDR3,
  GICV5_IRS_IDR4,
  GICV5_IRS_IDR5,
  GICV5_IRS_IDR5_SPI_RANGE_MASK,
  GICV5_IRS_IDR6,
  GICV5_IRS_IDR6_SPI_IRS_RANGE_MASK,
  GICV5_IRS_IDR7,
  GICV5_IRS_IDR7_SPI_BASE_MASK,
  GICV5_IRS_IIDR,
  GICV5_IRS_IIDR_PRODUCT_ID_SHIFT,
  GICV5_IRS_IST_BASER,
  GICV5_IRS_IST_BASER_ADDR_MASK,
  GICV5_IRS_IST_BASER_VALID,
  GICV5_IRS_IST_CFGR,
  GICV5_IRS_IST_CFGR_ISTSZ_16,
  GICV5_IRS_IST_CFGR_ISTSZ_4,
  GICV5_IRS_IST_CFGR_ISTSZ_8,
  GICV5_IRS_IST_CFGR_ISTSZ_SHIFT,
  GICV5_IRS_IST_CFGR_L2SZ_SHIFT,
  GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK,
  GICV5_IRS_IST_CFGR_STRUCTURE,
  GICV5_IRS_IST_STATUSR,
  GICV5_IRS_IST_STATUSR_IDLE,
  GICV5_IRS_MAP_L2_ISTR,
  GICV5_IRS_MEC_IDR,
  GICV5_IRS_MEC_MECID_R,
  GICV5_IRS_MPAM_IDR,
  GICV5_IRS_MPAM_PARTID_R,
  GICV5_IRS_PE_CR0,
  GICV5_IRS_PE_CR0_DPS,
  GICV5_IRS_PE_SELR,
  GICV5_IRS_PE_SELR_IAFFID_MASK,
  GICV5_IRS_PE_STATUSR,
  GICV5_IRS_PE_STATUSR_IDLE,
  GICV5_IRS_PE_STATUSR_ONLINE,
  GICV5_IRS_PE_STATUSR_V,
  GICV5_IRS_SAVE_VMR,
  GICV5_IRS_SAVE_VM_STATUSR,
  GICV5_IRS_SPI_CFGR,
  GICV5_IRS_SPI_CFGR_TM,
  GICV5_IRS_SPI_DOMAINR,
  GICV5_IRS_SPI_DOMAINR_DOMAIN_NON_SECURE,
  GICV5_IRS_SPI_RESAMPLER,
  GICV5_IRS_SPI_SELR,
  GICV5_IRS_SPI_SELR_ID_MASK,
  GICV5_IRS_SPI_STATUSR,
  GICV5_IRS_SPI_STATUSR_IDLE,
  GICV5_IRS_SPI_STATUSR_V,
  GICV5_IRS_SPI_VMR,
  GICV5_IRS_SWERR_STATUSR,
  GICV5_IRS_SWERR_SYNDROMER0,
  GICV5_IRS_SWERR_SYNDROMER1,
  GICV5_IRS_SYNC_STATUSR,
  GICV5_IRS_SYNC_STATUSR_IDLE,
  GICV5_IRS_SYNCR,
  GICV5_IRS_VM_DBR,
  GICV5_IRS_VM_SELR,
  GICV5_IRS_VM_STATUSR,
  GICV5_IRS_VMAP_L2_VISTR,
  GICV5_IRS_VMAP_L2_VMTR,
  GICV5_IRS_VMAP_VISTR,
  GICV5_IRS_VMAP_VMR,
  GICV5_IRS_VMAP_VPER,
  GICV5_IRS_VMT_BASER,
  GICV5_IRS_VMT_CFGR,
  GICV5_IRS_VMT_STATUSR,
  GICV5_IRS_VPE_CR0,
  GICV5_IRS_VPE_DBR,
  GICV5_IRS_VPE_HPPIR,
  GICV5_IRS_VPE_SELR,
  GICV5_IRS_VPE_STATUSR,
  KVM_VGIC_V5_IRS_SIZE,
} from '../../uapi/gicv5.ts';
import { IMPLEMENTER_ARM, PRODUCT_ID_KVM } from '../../uapi/kvm.ts';
import { VGIC_ACCESS_32bit, VGIC_ACCESS_64bit } from '../mmio.ts';
import { ADDR_UNDEF, type VgicCpu } from '../state.ts';
import { V5Irq } from './irq.ts';
import type { Gicv5Vgic } from './vgic.ts';

/** Who accesses the IRS: the vGIC, the accessing vCPU (vCPU 0 for userspace), and the path. */
export interface IrsCtx {
  readonly v5: Gicv5Vgic;
  readonly vcpu: VgicCpu;
  readonly uaccess: boolean;
}

type Read = (ctx: IrsCtx, offset: number, len: number) => bigint;
type Write = (ctx: IrsCtx, offset: number, len: number, val: bigint) => void;
type UWrite = (ctx: IrsCtx, offset: number, len: number, val: bigint) => number;

export interface IrsRow {
  readonly name: string;
  readonly offset: number;
  /** 4, or 8 for a 64-bit register (which also takes 32-bit guest accesses). */
  readonly len: 4 | 8;
  readonly access: number;
  readonly read: Read;
  readonly write: Write;
  readonly uaccessRead?: Read;
  readonly uaccessWrite?: UWrite;
  readonly ref: string;
}

const raz: Read = () => 0n;
const wi: Write = () => {};
const uwi: UWrite = () => 0;

// --- handlers ------------------------------------------------------------------------------------

const VALID_CR1 = 0xffff & ~(1 << 9) & ~(1 << 11); // VMT_WA and VPET_WA are not stored

/** vgic_v5_mmio_read_irs_misc() */
const readMisc: Read = ({ v5 }, offset) => {
  const irs = v5.irs;
  switch (offset) {
    case GICV5_IRS_IDR0:
      return BigInt(
        (irs.idr0.domain & GICV5_IRS_IDR0_INT_DOM_MASK) |
          ((irs.idr0.paRange & 0xf) << GICV5_IRS_IDR0_PA_RANGE_SHIFT) |
          ((irs.idr0.irsId & 0xffff) << GICV5_IRS_IDR0_IRSID_SHIFT),
      ) & 0xffffffffn;
    case GICV5_IRS_IDR1:
      // PE_CNT from the online vCPUs; IAFFID_BITS encoded N - 1.
      return BigInt(
        (v5.dist.vcpus.length & 0xffff) |
          ((v5.vpeIdBits() - 1) << GICV5_IRS_IDR1_IAFFID_BITS_SHIFT) |
          (irs.idr1PriorityBits << GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT),
      );
    case GICV5_IRS_IDR2: {
      const d = irs.idr2;
      return BigInt(
        ((d.istmdSz & 0x1f) << GICV5_IRS_IDR2_ISTMD_SZ_SHIFT) |
          (d.istmd ? GICV5_IRS_IDR2_ISTMD : 0) |
          ((d.istL2sz & 7) << GICV5_IRS_IDR2_IST_L2SZ_SHIFT) |
          (d.istLevels ? GICV5_IRS_IDR2_IST_LEVELS : 0) |
          ((d.minLpiIdBits & 0xf) << GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT) |
          GICV5_IRS_IDR2_LPI |
          (d.idBits & GICV5_IRS_IDR2_ID_BITS_MASK),
      );
    }
    case GICV5_IRS_IDR5:
      return BigInt(irs.idr5SpiRange & GICV5_IRS_IDR5_SPI_RANGE_MASK);
    case GICV5_IRS_IDR6:
      return BigInt(irs.idr6SpiIrsRange & GICV5_IRS_IDR6_SPI_IRS_RANGE_MASK);
    case GICV5_IRS_IDR7:
      return BigInt(irs.idr7SpiBase & GICV5_IRS_IDR7_SPI_BASE_MASK);
    case GICV5_IRS_IIDR:
      return BigInt(((PRODUCT_ID_KVM << GICV5_IRS_IIDR_PRODUCT_ID_SHIFT) | IMPLEMENTER_ARM) >>> 0);
    case GICV5_IRS_AIDR:
      return BigInt(GICV5_AIDR_COMPONENT_IRS << GICV5_IRS_AIDR_COMPONENT_SHIFT);
    case GICV5_IRS_CR0:
      // "The IRS is ALWAYS idle as we handle things instantaneously"
      return BigInt(GICV5_IRS_CR0_IDLE | (v5.irsEnabled ? GICV5_IRS_CR0_IRSEN : 0));
    case GICV5_IRS_CR1:
      return BigInt(irs.cr1);
    case GICV5_IRS_SYNC_STATUSR:
      return BigInt(GICV5_IRS_SYNC_STATUSR_IDLE);
    case GICV5_IRS_PE_SELR:
      return BigInt(irs.peSelr);
    case GICV5_IRS_PE_STATUSR:
      return BigInt(GICV5_IRS_PE_STATUSR_IDLE | (v5.vcpuById(irs.peSelr) ? GICV5_IRS_PE_STATUSR_ONLINE | GICV5_IRS_PE_STATUSR_V : 0));
    case GICV5_IRS_PE_CR0:
      return v5.vcpuById(irs.peSelr) ? BigInt(GICV5_IRS_PE_CR0_DPS) : 0n;
  }
  return 0n;
};

/** vgic_v5_mmio_write_irs_misc() */
const writeMisc: Write = ({ v5 }, offset, _len, val) => {
  const v = Number(val & 0xffffffffn);
  switch (offset) {
    case GICV5_IRS_CR0:
      v5.dist.enabled = (v & GICV5_IRS_CR0_IRSEN) !== 0;
      v5.kick();
      return;
    case GICV5_IRS_CR1:
      v5.irs.cr1 = v & VALID_CR1;
      return;
    case GICV5_IRS_PE_SELR:
      v5.irs.peSelr = v & GICV5_IRS_PE_SELR_IAFFID_MASK;
      return;
  }
  // PE_CR0: no 1-of-N routing, so effectively WI.
};

/** vgic_v5_is_spi_selr_valid() */
function spiSelrValid(v5: Gicv5Vgic, id: number): boolean {
  const irs = v5.irs;
  if (!irs.idr5SpiRange || !irs.idr6SpiIrsRange) return false;
  return id >= irs.idr7SpiBase && id < irs.idr7SpiBase + irs.idr6SpiIrsRange;
}

/** vgic_v5_mmio_read_irs_spi() */
const readSpi: Read = ({ v5 }, offset) => {
  const id = v5.irs.spiSelr;
  switch (offset) {
    case GICV5_IRS_SPI_SELR:
      return BigInt(id);
    case GICV5_IRS_SPI_STATUSR:
      return BigInt(GICV5_IRS_SPI_STATUSR_IDLE | (spiSelrValid(v5, id) ? GICV5_IRS_SPI_STATUSR_V : 0));
    case GICV5_IRS_SPI_DOMAINR:
      return BigInt(GICV5_IRS_SPI_DOMAINR_DOMAIN_NON_SECURE);
    case GICV5_IRS_SPI_CFGR:
      if (!spiSelrValid(v5, id)) return 0n;
      return v5.spis[id]?.level ? BigInt(GICV5_IRS_SPI_CFGR_TM) : 0n;
  }
  return 0n;
};

/** vgic_v5_mmio_write_irs_spi(): SPI_CFGR sets KVM's trigger mode so injection agrees with the guest. */
const writeSpi: Write = ({ v5 }, offset, _len, val) => {
  const v = Number(val & 0xffffffffn);
  if (offset === GICV5_IRS_SPI_SELR) {
    v5.irs.spiSelr = v & GICV5_IRS_SPI_SELR_ID_MASK;
    return;
  }
  if (offset !== GICV5_IRS_SPI_CFGR) return;
  const id = v5.irs.spiSelr;
  if (!spiSelrValid(v5, id)) return;
  const irq = v5.spis[id];
  if (!irq) return;
  irq.level = (v & GICV5_IRS_SPI_CFGR_TM) !== 0;
  v5.kick();
};

/** vgic_v5_ist_cfgr_valid(): LPI_ID_BITS within [MIN_LPI_ID_BITS, ID_BITS], the expected ISTSZ, linear. */
export function istCfgrValid(v5: Gicv5Vgic): boolean {
  const { istCfgr: c, idr2 } = v5.irs;
  if (c.lpiIdBits < idr2.minLpiIdBits || c.lpiIdBits > idr2.idBits) return false;
  const expected = !idr2.istmd ? GICV5_IRS_IST_CFGR_ISTSZ_4 : c.lpiIdBits >= idr2.istmdSz ? GICV5_IRS_IST_CFGR_ISTSZ_16 : GICV5_IRS_IST_CFGR_ISTSZ_8;
  if (c.istsz !== expected) return false;
  if (c.structure && !idr2.istLevels) return false;
  if (!c.structure) return true;
  return c.l2sz === idr2.istL2sz;
}

function readIstBaser(v5: Gicv5Vgic): bigint {
  const b = v5.irs.istBaser;
  return (b.addr & GICV5_IRS_IST_BASER_ADDR_MASK) | (b.valid ? GICV5_IRS_IST_BASER_VALID : 0n);
}
function updateIstBaser(v5: Gicv5Vgic, val: bigint): void {
  v5.irs.istBaser = { valid: (val & GICV5_IRS_IST_BASER_VALID) !== 0n, addr: val & GICV5_IRS_IST_BASER_ADDR_MASK };
}
function istCfgrMatches(v5: Gicv5Vgic, val: number): boolean {
  const c = v5.irs.istCfgr;
  return (
    c.lpiIdBits === (val & GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK) &&
    c.l2sz === ((val >>> GICV5_IRS_IST_CFGR_L2SZ_SHIFT) & 3) &&
    c.istsz === ((val >>> GICV5_IRS_IST_CFGR_ISTSZ_SHIFT) & 3) &&
    c.structure === ((val & GICV5_IRS_IST_CFGR_STRUCTURE) !== 0)
  );
}
function setIstCfgr(v5: Gicv5Vgic, val: number): void {
  v5.irs.istCfgr = {
    lpiIdBits: val & GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK,
    l2sz: (val >>> GICV5_IRS_IST_CFGR_L2SZ_SHIFT) & 3,
    istsz: (val >>> GICV5_IRS_IST_CFGR_ISTSZ_SHIFT) & 3,
    structure: (val & GICV5_IRS_IST_CFGR_STRUCTURE) !== 0,
  };
}

/** vgic_v5_lpi_ist_alloc(): the host LPI IST; EBUSY if one exists, ENOMEM if the host is out. */
export function lpiIstAlloc(v5: Gicv5Vgic, idBits: number): number {
  if (v5.lpis) return -EBUSY;
  if (v5.host.faults.lpiIstAllocFail) return -ENOMEM;
  const lpis: V5Irq[] = [];
  for (let i = 0; i < 1 << idBits; i++) lpis.push(new V5Irq(GICV5_HWIRQ_TYPE_LPI, i));
  v5.lpis = lpis;
  v5.lpiIdBits = idBits;
  v5.kick();
  return 0;
}

/** vgic_v5_lpi_ist_free() */
function lpiIstFree(v5: Gicv5Vgic): void {
  v5.lpis = null;
  v5.lpiIdBits = 0;
}

/** vgic_v5_write_irs_ist_baser(): a guest making BASER valid allocates the host LPI IST. */
function writeIstBaser(v5: Gicv5Vgic, val: bigint): number {
  const was = v5.irs.istBaser.valid;
  const valid = (val & GICV5_IRS_IST_BASER_VALID) !== 0n;
  // "The address cannot be changed while the IST is valid."
  if (was && valid) return 0;
  if (was && !valid) {
    updateIstBaser(v5, val);
    lpiIstFree(v5);
    return 0;
  }
  if (!was && valid) {
    if (!istCfgrValid(v5)) return -EINVAL;
    const r = lpiIstAlloc(v5, v5.irs.istCfgr.lpiIdBits);
    if (r) return r;
  }
  updateIstBaser(v5, val);
  return 0;
}

/** vgic_v5_mmio_read_irs_ist() */
const readIst: Read = ({ v5 }, offset, len) => {
  switch (offset) {
    case GICV5_IRS_IST_STATUSR:
      return BigInt(GICV5_IRS_IST_STATUSR_IDLE);
    case GICV5_IRS_IST_CFGR: {
      const c = v5.irs.istCfgr;
      return BigInt((c.structure ? GICV5_IRS_IST_CFGR_STRUCTURE : 0) | (c.istsz << GICV5_IRS_IST_CFGR_ISTSZ_SHIFT) | (c.l2sz << GICV5_IRS_IST_CFGR_L2SZ_SHIFT) | c.lpiIdBits);
    }
    case GICV5_IRS_IST_BASER:
    case GICV5_IRS_IST_BASER + 4: {
      // extract_bytes(value, offset & 7, len)
      const v = readIstBaser(v5) >> BigInt((offset & 7) * 8);
      return len === 8 ? v : v & 0xffffffffn;
    }
  }
  return 0n;
};

/** vgic_v5_mmio_write_irs_ist(): a guest IST_CFGR write is ignored while BASER is valid. */
const writeIst: Write = ({ v5 }, offset, len, val) => {
  if (offset === GICV5_IRS_IST_CFGR) {
    if (v5.irs.istBaser.valid) return;
    setIstCfgr(v5, Number(val & 0xffffffffn));
    return;
  }
  if (offset === GICV5_IRS_IST_BASER || offset === GICV5_IRS_IST_BASER + 4) {
    // update_64bit_reg(): a 32-bit access replaces one half. An error is not reported to the
    // guest: the write is simply not done.
    const old = readIstBaser(v5);
    let v: bigint;
    if (len === 8) v = BigInt.asUintN(64, val);
    else if (offset & 4) v = (old & 0xffffffffn) | ((val & 0xffffffffn) << 32n);
    else v = (old & ~0xffffffffn) | (val & 0xffffffffn);
    writeIstBaser(v5, v);
  }
};

/** vgic_v5_mmio_uaccess_read_irs_status(): userspace always sees the status registers idle. */
const uaccessReadStatus: Read = (_ctx, offset) => {
  switch (offset) {
    case GICV5_IRS_SYNC_STATUSR:
      return BigInt(GICV5_IRS_SYNC_STATUSR_IDLE);
    case GICV5_IRS_SPI_STATUSR:
      return BigInt(GICV5_IRS_SPI_STATUSR_IDLE);
    case GICV5_IRS_PE_STATUSR:
      return BigInt(GICV5_IRS_PE_STATUSR_IDLE);
    case GICV5_IRS_IST_STATUSR:
      return BigInt(GICV5_IRS_IST_STATUSR_IDLE);
  }
  return 0n;
};

/**
 * vgic_v5_mmio_uaccess_write_irs(): the ID registers are validated against what KVM can present;
 * IST_CFGR/IST_BASER are frozen once a host LPI IST exists (same value accepted); a valid BASER
 * restored while none exists defers the allocation to the IST restore.
 */
const uaccessWrite: UWrite = ({ v5 }, offset, _len, val) => {
  const irs = v5.irs;
  const v = Number(val & 0xffffffffn);
  switch (offset) {
    case GICV5_IRS_IDR0: {
      if ((v & GICV5_IRS_IDR0_INT_DOM_MASK) !== GICV5_IRS_IDR0_INT_DOM_NON_SECURE) return -EINVAL;
      const unsupported = GICV5_IRS_IDR0_VIRT | GICV5_IRS_IDR0_ONE_N | GICV5_IRS_IDR0_VIRT_ONE_N | GICV5_IRS_IDR0_SETLPI | GICV5_IRS_IDR0_MEC | GICV5_IRS_IDR0_MPAM | GICV5_IRS_IDR0_SWE;
      if (v & unsupported) return -EINVAL;
      irs.idr0 = { domain: v & GICV5_IRS_IDR0_INT_DOM_MASK, paRange: (v >>> GICV5_IRS_IDR0_PA_RANGE_SHIFT) & 0xf, irsId: (v >>> GICV5_IRS_IDR0_IRSID_SHIFT) & 0xffff };
      return 0;
    }
    case GICV5_IRS_IDR1: {
      // PE_CNT is ignored: it follows the vCPUs.
      const iaffidBits = (v >>> GICV5_IRS_IDR1_IAFFID_BITS_SHIFT) & 0xf;
      const priBits = (v >>> GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT) & 7;
      if (iaffidBits !== v5.vpeIdBits() - 1) return -EINVAL;
      if (priBits > v5.host.irsPriBits - 1) return -EINVAL;
      irs.idr1PriorityBits = priBits;
      return 0;
    }
    case GICV5_IRS_IDR2: {
      if (!(v & GICV5_IRS_IDR2_LPI)) return -EINVAL; // "We always support LPIs"
      if (v & GICV5_IRS_IDR2_IST_LEVELS) return -EINVAL; // linear, non-metadata guest ISTs only
      const istmdSz = (v >>> GICV5_IRS_IDR2_ISTMD_SZ_SHIFT) & 0x1f;
      if (v & GICV5_IRS_IDR2_ISTMD || istmdSz) return -EINVAL;
      const idBits = v & GICV5_IRS_IDR2_ID_BITS_MASK;
      const minLpi = (v >>> GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT) & 0xf;
      if (idBits > v5.host.istIdBits) return -EINVAL;
      if (minLpi < v5.host.minLpiIdBits) return -EINVAL;
      if (minLpi > idBits) return -EINVAL;
      irs.idr2 = { idBits, minLpiIdBits: minLpi, istLevels: false, istL2sz: (v >>> GICV5_IRS_IDR2_IST_L2SZ_SHIFT) & 7, istmd: false, istmdSz: 0 };
      return 0;
    }
    case GICV5_IRS_IDR5:
      return (v & GICV5_IRS_IDR5_SPI_RANGE_MASK) !== irs.idr5SpiRange ? -EINVAL : 0;
    case GICV5_IRS_IDR6:
      return (v & GICV5_IRS_IDR6_SPI_IRS_RANGE_MASK) !== irs.idr6SpiIrsRange ? -EINVAL : 0;
    case GICV5_IRS_IDR7:
      return (v & GICV5_IRS_IDR7_SPI_BASE_MASK) !== irs.idr7SpiBase ? -EINVAL : 0;
    case GICV5_IRS_IST_BASER: {
      const exists = v5.lpis !== null;
      const b = BigInt.asUintN(64, val);
      const matches = (b & GICV5_IRS_IST_BASER_ADDR_MASK) === irs.istBaser.addr && ((b & GICV5_IRS_IST_BASER_VALID) !== 0n) === irs.istBaser.valid;
      if (exists && !matches) return -EINVAL;
      if (!irs.istBaser.valid && b & GICV5_IRS_IST_BASER_VALID) irs.lpiIstRestorePending = true;
      updateIstBaser(v5, b);
      return 0;
    }
    case GICV5_IRS_IST_CFGR:
      if (v5.lpis && !istCfgrMatches(v5, v)) return -EINVAL;
      setIstCfgr(v5, v);
      return 0;
    case GICV5_IRS_CR0:
      v5.dist.enabled = (v & GICV5_IRS_CR0_IRSEN) !== 0;
      v5.kick();
      return 0;
    case GICV5_IRS_SPI_CFGR:
    case GICV5_IRS_IIDR:
    case GICV5_IRS_AIDR:
      return 0;
  }
  return -EINVAL;
};

// --- the table -----------------------------------------------------------------------------------

const A32 = VGIC_ACCESS_32bit;
const A64 = VGIC_ACCESS_64bit | VGIC_ACCESS_32bit;
const FILE = 'vgic-irs-v5.c';

function row(name: string, offset: number, len: 4 | 8, read: Read, write: Write, extra: Partial<Pick<IrsRow, 'uaccessRead' | 'uaccessWrite'>> = {}): IrsRow {
  return { name, offset, len, access: len === 8 ? A64 : A32, read, write, ...extra, ref: `${FILE}: vgic_v5_irs_registers[] ${name}` };
}
const ID = { uaccessWrite } as const;
const STATUS = { uaccessRead: uaccessReadStatus, uaccessWrite: uwi } as const;

export const IRS_ROWS: readonly IrsRow[] = [
  row('IRS_IDR0', GICV5_IRS_IDR0, 4, readMisc, wi, ID),
  row('IRS_IDR1', GICV5_IRS_IDR1, 4, readMisc, wi, ID),
  row('IRS_IDR2', GICV5_IRS_IDR2, 4, readMisc, wi, ID),
  row('IRS_IDR3', GICV5_IRS_IDR3, 4, raz, wi),
  row('IRS_IDR4', GICV5_IRS_IDR4, 4, raz, wi),
  row('IRS_IDR5', GICV5_IRS_IDR5, 4, readMisc, wi, ID),
  row('IRS_IDR6', GICV5_IRS_IDR6, 4, readMisc, wi, ID),
  row('IRS_IDR7', GICV5_IRS_IDR7, 4, readMisc, wi, ID),
  row('IRS_IIDR', GICV5_IRS_IIDR, 4, readMisc, wi, ID),
  row('IRS_AIDR', GICV5_IRS_AIDR, 4, readMisc, wi, ID),
  row('IRS_CR0', GICV5_IRS_CR0, 4, readMisc, writeMisc, ID),
  row('IRS_CR1', GICV5_IRS_CR1, 4, readMisc, writeMisc),
  row('IRS_SYNCR', GICV5_IRS_SYNCR, 4, raz, wi),
  row('IRS_SYNC_STATUSR', GICV5_IRS_SYNC_STATUSR, 4, readMisc, wi, STATUS),
  row('IRS_SPI_VMR', GICV5_IRS_SPI_VMR, 8, raz, wi),
  row('IRS_SPI_SELR', GICV5_IRS_SPI_SELR, 4, readSpi, writeSpi),
  row('IRS_SPI_DOMAINR', GICV5_IRS_SPI_DOMAINR, 4, readSpi, wi),
  row('IRS_SPI_RESAMPLER', GICV5_IRS_SPI_RESAMPLER, 4, raz, wi),
  row('IRS_SPI_CFGR', GICV5_IRS_SPI_CFGR, 4, readSpi, writeSpi, ID),
  row('IRS_SPI_STATUSR', GICV5_IRS_SPI_STATUSR, 4, readSpi, wi, STATUS),
  row('IRS_PE_SELR', GICV5_IRS_PE_SELR, 4, readMisc, writeMisc),
  row('IRS_PE_STATUSR', GICV5_IRS_PE_STATUSR, 4, readMisc, wi, STATUS),
  row('IRS_PE_CR0', GICV5_IRS_PE_CR0, 4, readMisc, writeMisc),
  row('IRS_IST_BASER', GICV5_IRS_IST_BASER, 8, readIst, writeIst, ID),
  row('IRS_IST_CFGR', GICV5_IRS_IST_CFGR, 4, readIst, writeIst, ID),
  row('IRS_IST_STATUSR', GICV5_IRS_IST_STATUSR, 4, readIst, wi, STATUS),
  row('IRS_MAP_L2_ISTR', GICV5_IRS_MAP_L2_ISTR, 4, raz, wi),
  // "only for running VMs ... not yet supported as we don't currently support nested": RAZ/WI
  row('IRS_VMT_BASER', GICV5_IRS_VMT_BASER, 8, raz, wi),
  row('IRS_VMT_CFGR', GICV5_IRS_VMT_CFGR, 4, raz, wi),
  row('IRS_VMT_STATUSR', GICV5_IRS_VMT_STATUSR, 4, raz, wi),
  row('IRS_VPE_SELR', GICV5_IRS_VPE_SELR, 8, raz, wi),
  row('IRS_VPE_DBR', GICV5_IRS_VPE_DBR, 8, raz, wi),
  row('IRS_VPE_HPPIR', GICV5_IRS_VPE_HPPIR, 8, raz, wi),
  row('IRS_VPE_CR0', GICV5_IRS_VPE_CR0, 4, raz, wi),
  row('IRS_VPE_STATUSR', GICV5_IRS_VPE_STATUSR, 4, raz, wi),
  row('IRS_VM_DBR', GICV5_IRS_VM_DBR, 8, raz, wi),
  row('IRS_VM_SELR', GICV5_IRS_VM_SELR, 4, raz, wi),
  row('IRS_VM_STATUSR', GICV5_IRS_VM_STATUSR, 4, raz, wi),
  row('IRS_VMAP_L2_VMTR', GICV5_IRS_VMAP_L2_VMTR, 8, raz, wi),
  row('IRS_VMAP_VMR', GICV5_IRS_VMAP_VMR, 8, raz, wi),
  row('IRS_VMAP_VISTR', GICV5_IRS_VMAP_VISTR, 8, raz, wi),
  row('IRS_VMAP_L2_VISTR', GICV5_IRS_VMAP_L2_VISTR, 8, raz, wi),
  row('IRS_VMAP_VPER', GICV5_IRS_VMAP_VPER, 8, raz, wi),
  row('IRS_SAVE_VMR', GICV5_IRS_SAVE_VMR, 8, raz, wi),
  row('IRS_SAVE_VM_STATUSR', GICV5_IRS_SAVE_VM_STATUSR, 4, raz, wi),
  // "MEC, MPAM, SWERR - all unimplemented"
  row('IRS_MEC_IDR', GICV5_IRS_MEC_IDR, 4, raz, wi),
  row('IRS_MEC_MECID_R', GICV5_IRS_MEC_MECID_R, 4, raz, wi),
  row('IRS_MPAM_IDR', GICV5_IRS_MPAM_IDR, 4, raz, wi),
  row('IRS_MPAM_PARTID_R', GICV5_IRS_MPAM_PARTID_R, 4, raz, wi),
  row('IRS_SWERR_STATUSR', GICV5_IRS_SWERR_STATUSR, 8, raz, wi),
  row('IRS_SWERR_SYNDROMER0', GICV5_IRS_SWERR_SYNDROMER0, 8, raz, wi),
  row('IRS_SWERR_SYNDROMER1', GICV5_IRS_SWERR_SYNDROMER1, 8, raz, wi),
  // The CoreSight ID registers at 0xffbc..0xfffc are not modelled (their values were not read).
];

const INDEX = new Map<number, IrsRow>();
for (const r of IRS_ROWS) for (let o = r.offset; o < r.offset + r.len; o += 4) INDEX.set(o >>> 2, r);

/** vgic_find_mmio_region(): the row covering `offset`, if any. */
function findIrsRow(offset: number): IrsRow | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset >= 0x10000) return undefined;
  return INDEX.get(offset >>> 2);
}

// --- userspace: KVM_DEV_ARM_VGIC_GRP_IRS_REGS --------------------------------------------------------

/** vgic_v5_has_attr_regs() for IRS_REGS: ENXIO for no register, EINVAL if misaligned for its width. */
export function irsHasReg(offset: bigint): number {
  if (offset < 0n || offset > 0xffffn) return -ENXIO;
  const row = findIrsRow(Number(offset));
  if (!row) return -ENXIO;
  return Number(offset) & (row.len - 1) ? -EINVAL : 0;
}

/**
 * vgic_v5_irs_attr_regs_access(): always a full-width access of the register (8 bytes for a
 * 64-bit one); a 32-bit register's upper half of the __u64 is ignored on write and zero on read.
 */
export function irsRegsAccess(v5: Gicv5Vgic, vcpu0: VgicCpu, offset: bigint, write: boolean, val: bigint): { ret: number; value: bigint } {
  if (v5.irsBase === ADDR_UNDEF) return { ret: -ENXIO, value: 0n };
  const r = irsHasReg(offset);
  if (r) return { ret: r, value: 0n };
  const off = Number(offset);
  const row = findIrsRow(off)!;
  const ctx: IrsCtx = { v5, vcpu: vcpu0, uaccess: true };
  const len = row.len;
  const v = len === 8 ? BigInt.asUintN(64, val) : val & 0xffffffffn;
  if (write) {
    if (row.uaccessWrite) return { ret: row.uaccessWrite(ctx, off, len, v), value: 0n };
    row.write(ctx, off, len, v);
    return { ret: 0, value: 0n };
  }
  const got = (row.uaccessRead ?? row.read)(ctx, off, len);
  return { ret: 0, value: len === 8 ? BigInt.asUintN(64, got) : got & 0xffffffffn };
}

// --- the guest: MMIO ------------------------------------------------------------------------------

/**
 * The SETLPI_FRAME (second 64K) has no rows: vgic_find_mmio_region() looks the full offset up in
 * a table of CONFIG_FRAME registers, so every access there is RAZ/WI (GICV5_IRS_SETLPIR included).
 */
const SETLPI_FRAME = 0x10000;

function irsOffset(v5: Gicv5Vgic, addr: number): number | null {
  if (!v5.dist.ready || !v5.hasIrs || v5.irsBase === ADDR_UNDEF) return null;
  const off = addr - v5.irsBase;
  return off >= 0 && off < KVM_VGIC_V5_IRS_SIZE ? off : null;
}

/** check_region(): the access width must be allowed by the row and naturally aligned. */
function guestRow(off: number, len: number): IrsRow | undefined {
  const row = findIrsRow(off);
  if (!row) return undefined;
  const flag = len === 4 ? VGIC_ACCESS_32bit : len === 8 ? VGIC_ACCESS_64bit : 0;
  if (!(row.access & flag) || off % len) return undefined;
  return row;
}

/** A guest read of the IRS frames: null if the address is not the IRS (an exit to userspace). */
export function irsMmioRead(v5: Gicv5Vgic, vcpu: VgicCpu, addr: number, len: number): number | bigint | null {
  const off = irsOffset(v5, addr);
  if (off === null) return null;
  const row = off < SETLPI_FRAME ? guestRow(off, len) : undefined;
  const v = row ? row.read({ v5, vcpu, uaccess: false }, off, len) : 0n;
  return len === 8 ? BigInt.asUintN(64, v) : Number(v & 0xffffffffn) >>> 0;
}

/** A guest write of the IRS frames: false if the address is not the IRS. */
export function irsMmioWrite(v5: Gicv5Vgic, vcpu: VgicCpu, addr: number, len: number, val: number | bigint): boolean {
  const off = irsOffset(v5, addr);
  if (off === null) return false;
  const v = BigInt.asUintN(64, BigInt(val));
  if (off >= SETLPI_FRAME) return true;
  const row = guestRow(off, len);
  if (row) row.write({ v5, vcpu, uaccess: false }, off, len, len === 8 ? v : v & 0xffffffffn);
  return true;
}

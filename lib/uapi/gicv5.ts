// GICv5 constants: the KVM uapi of the vGIC-v5 device and the GICv5 architecture names the
// model, the guest library and the selftest port share.
//
// Which kernel: Debian linux-source 7.2 carries only the PPI-only device of the "vGIC-v5 with
// PPI support" series (include/uapi/linux/kvm.h: KVM_DEV_TYPE_ARM_VGIC_V5;
// arch/arm64/include/uapi/asm/kvm.h: KVM_DEV_ARM_VGIC_USERSPACE_PPIS). The IRS, SPI, LPI and IST
// names come from the later "KVM: arm64: Add GICv5 IRS support" series (v5, Aug 2026, kvmarm
// kvm-arm64/gicv5-7.4; analogdevicesinc/linux and intel-lab-lkp/linux copies of
// arch/arm64/include/uapi/asm/kvm.h and include/linux/irqchip/arm-gic-v5.h), which 7.2 does not
// have. Values marked "unverified" were not found in any kernel header read.

import { KVM_DEV_ARM_VGIC_SYSREG } from './kvm.ts';

// KVM_DEV_TYPE_ARM_VGIC_V5 (16 in 7.2's enum kvm_device_type) is in ./kvm.ts.

// --- device attributes (arch/arm64/include/uapi/asm/kvm.h) ----------------------------------------

/** KVM_DEV_ARM_VGIC_GRP_CTRL attribute (7.2). */
export const KVM_DEV_ARM_VGIC_USERSPACE_PPIS = 5;
/** IRS series: IRS register group (attr = byte offset in the CONFIG_FRAME). */
export const KVM_DEV_ARM_VGIC_GRP_IRS_REGS = 10;
/** IRS series: IST save/restore group (attr must be 0). Value 11: unverified (reference A.3). */
export const KVM_DEV_ARM_VGIC_GRP_IST = 11;

/** GRP_ADDR attribute: the IRS (CONFIG_FRAME + SETLPI_FRAME). */
export const KVM_VGIC_V5_ADDR_TYPE_IRS = 6;
export const KVM_VGIC_V5_IRS_SIZE = 0x20000;
export const GICV5_IRS_ALIGN = 0x10000;

/** struct kvm_vgic_v5_ist { __u64 spi_ist_addr, spi_ist_size, lpi_ist_addr, lpi_ist_size; } */
export const KVM_VGIC_V5_IST_SPI_ADDR = 0;
export const KVM_VGIC_V5_IST_SPI_SIZE = 8;
export const KVM_VGIC_V5_IST_LPI_ADDR = 16;
export const KVM_VGIC_V5_IST_LPI_SIZE = 24;
export const KVM_VGIC_V5_IST_STRUCT_SIZE = 32;

// --- include/kvm/arm_vgic.h ------------------------------------------------------------------------

export const VGIC_V5_MAX_CPUS = 512;
/** 7.2: KVM tracks only the 64 architected PPIs ("Fold PPI state for all exposed PPIs"). */
export const VGIC_V5_NR_PRIVATE_IRQS = 64;
/** IRS series: NR_IRQS counts SPIs, 32..1024 in steps of 32, default 32. */
export const VGIC_V5_DEFAULT_NR_SPIS = 32;
export const VGIC_V5_MAX_NR_SPIS = 1024;

// --- INTIDs (include/linux/irqchip/arm-gic-v5.h) --------------------------------------------------

export const GICV5_HWIRQ_ID_MASK = 0xffffff; // GENMASK(23, 0)
export const GICV5_HWIRQ_TYPE_SHIFT = 29; // GENMASK(31, 29)
export const GICV5_HWIRQ_TYPE_PPI = 1;
export const GICV5_HWIRQ_TYPE_LPI = 2;
export const GICV5_HWIRQ_TYPE_SPI = 3;

/** FIELD_PREP(GICV5_HWIRQ_TYPE, type) | FIELD_PREP(GICV5_HWIRQ_ID, id) */
export function gicv5Hwirq(type: number, id: number): number {
  return (((type & 7) << GICV5_HWIRQ_TYPE_SHIFT) | (id & GICV5_HWIRQ_ID_MASK)) >>> 0;
}
export const gicv5HwirqType = (intid: number): number => (intid >>> GICV5_HWIRQ_TYPE_SHIFT) & 7;
export const gicv5HwirqId = (intid: number): number => intid & GICV5_HWIRQ_ID_MASK;

// Architected PPIs
export const GICV5_ARCH_PPI_SW_PPI = 0x3;
export const GICV5_ARCH_PPI_PMUIRQ = 0x17;
export const GICV5_ARCH_PPI_CNTHP = 0x1a;
export const GICV5_ARCH_PPI_CNTV = 0x1b;
export const GICV5_ARCH_PPI_CNTHV = 0x1c;
export const GICV5_ARCH_PPI_CNTP = 0x1e;

// --- IRS CONFIG_FRAME registers (IRS series arm-gic-v5.h) -----------------------------------------

export const GICV5_IRS_IDR0 = 0x0000;
export const GICV5_IRS_IDR1 = 0x0004;
export const GICV5_IRS_IDR2 = 0x0008;
export const GICV5_IRS_IDR3 = 0x000c;
export const GICV5_IRS_IDR4 = 0x0010;
export const GICV5_IRS_IDR5 = 0x0014;
export const GICV5_IRS_IDR6 = 0x0018;
export const GICV5_IRS_IDR7 = 0x001c;
export const GICV5_IRS_IIDR = 0x0040;
export const GICV5_IRS_AIDR = 0x0044;
export const GICV5_IRS_CR0 = 0x0080;
export const GICV5_IRS_CR1 = 0x0084;
export const GICV5_IRS_SYNCR = 0x00c0;
export const GICV5_IRS_SYNC_STATUSR = 0x00c4;
export const GICV5_IRS_SPI_VMR = 0x0100;
export const GICV5_IRS_SPI_SELR = 0x0108;
export const GICV5_IRS_SPI_DOMAINR = 0x010c;
export const GICV5_IRS_SPI_RESAMPLER = 0x0110;
export const GICV5_IRS_SPI_CFGR = 0x0114;
export const GICV5_IRS_SPI_STATUSR = 0x0118;
export const GICV5_IRS_PE_SELR = 0x0140;
export const GICV5_IRS_PE_STATUSR = 0x0144;
export const GICV5_IRS_PE_CR0 = 0x0148;
export const GICV5_IRS_IST_BASER = 0x0180;
export const GICV5_IRS_IST_CFGR = 0x0190;
export const GICV5_IRS_IST_STATUSR = 0x0194;
export const GICV5_IRS_MAP_L2_ISTR = 0x01c0;
export const GICV5_IRS_VMT_BASER = 0x0200;
export const GICV5_IRS_VMT_CFGR = 0x0210;
export const GICV5_IRS_VMT_STATUSR = 0x0214;
export const GICV5_IRS_VPE_SELR = 0x0240;
export const GICV5_IRS_VPE_DBR = 0x0248;
export const GICV5_IRS_VPE_HPPIR = 0x0250;
export const GICV5_IRS_VPE_CR0 = 0x0258;
export const GICV5_IRS_VPE_STATUSR = 0x025c;
export const GICV5_IRS_VM_DBR = 0x0280;
export const GICV5_IRS_VM_SELR = 0x0288;
export const GICV5_IRS_VM_STATUSR = 0x028c;
export const GICV5_IRS_VMAP_L2_VMTR = 0x02c0;
export const GICV5_IRS_VMAP_VMR = 0x02c8;
export const GICV5_IRS_VMAP_VISTR = 0x02d0;
export const GICV5_IRS_VMAP_L2_VISTR = 0x02d8;
export const GICV5_IRS_VMAP_VPER = 0x02e0;
export const GICV5_IRS_SAVE_VMR = 0x0300;
export const GICV5_IRS_SAVE_VM_STATUSR = 0x0308;
export const GICV5_IRS_MEC_IDR = 0x0340;
export const GICV5_IRS_MEC_MECID_R = 0x0344;
export const GICV5_IRS_MPAM_IDR = 0x0380;
export const GICV5_IRS_MPAM_PARTID_R = 0x0384;
export const GICV5_IRS_SWERR_STATUSR = 0x03c0;
export const GICV5_IRS_SWERR_SYNDROMER0 = 0x03c8;
export const GICV5_IRS_SWERR_SYNDROMER1 = 0x03d0;

// IDR0
export const GICV5_IRS_IDR0_IRSID_SHIFT = 16; // GENMASK(31, 16)
export const GICV5_IRS_IDR0_SWE = 1 << 12;
export const GICV5_IRS_IDR0_MPAM = 1 << 11;
export const GICV5_IRS_IDR0_MEC = 1 << 10;
export const GICV5_IRS_IDR0_SETLPI = 1 << 9;
export const GICV5_IRS_IDR0_VIRT_ONE_N = 1 << 8;
export const GICV5_IRS_IDR0_ONE_N = 1 << 7;
export const GICV5_IRS_IDR0_VIRT = 1 << 6;
export const GICV5_IRS_IDR0_PA_RANGE_SHIFT = 2; // GENMASK(5, 2)
export const GICV5_IRS_IDR0_INT_DOM_MASK = 0x3; // GENMASK(1, 0)
export const GICV5_IRS_IDR0_INT_DOM_SECURE = 0b00;
export const GICV5_IRS_IDR0_INT_DOM_NON_SECURE = 0b01;
// IDR1
export const GICV5_IRS_IDR1_PRIORITY_BITS_SHIFT = 20; // GENMASK(22, 20)
export const GICV5_IRS_IDR1_IAFFID_BITS_SHIFT = 16; // GENMASK(19, 16)
export const GICV5_IRS_IDR1_PE_CNT_MASK = 0xffff; // GENMASK(15, 0)
// IDR2
export const GICV5_IRS_IDR2_ISTMD_SZ_SHIFT = 15; // GENMASK(19, 15)
export const GICV5_IRS_IDR2_ISTMD = 1 << 14;
export const GICV5_IRS_IDR2_IST_L2SZ_SHIFT = 11; // GENMASK(13, 11)
export const GICV5_IRS_IDR2_IST_LEVELS = 1 << 10;
export const GICV5_IRS_IDR2_MIN_LPI_ID_BITS_SHIFT = 6; // GENMASK(9, 6)
export const GICV5_IRS_IDR2_LPI = 1 << 5;
export const GICV5_IRS_IDR2_ID_BITS_MASK = 0x1f; // GENMASK(4, 0)
// IDR5..7
export const GICV5_IRS_IDR5_SPI_RANGE_MASK = 0x1ffffff; // GENMASK(24, 0)
export const GICV5_IRS_IDR6_SPI_IRS_RANGE_MASK = 0x1ffffff;
export const GICV5_IRS_IDR7_SPI_BASE_MASK = 0xffffff;
// IIDR / AIDR
export const GICV5_IRS_IIDR_PRODUCT_ID_SHIFT = 20;
export const GICV5_IRS_IIDR_IMPLEMENTER_MASK = 0xfff;
export const GICV5_IRS_AIDR_COMPONENT_SHIFT = 8;
export const GICV5_AIDR_COMPONENT_IRS = 0;
// CR0 / CR1
export const GICV5_IRS_CR0_IDLE = 1 << 1;
export const GICV5_IRS_CR0_IRSEN = 1 << 0;
export const GICV5_IRS_CR1_MASK = 0xffff;
// status registers
export const GICV5_IRS_SYNC_STATUSR_IDLE = 1 << 0;
export const GICV5_IRS_SPI_STATUSR_V = 1 << 1;
export const GICV5_IRS_SPI_STATUSR_IDLE = 1 << 0;
export const GICV5_IRS_PE_STATUSR_ONLINE = 1 << 2;
export const GICV5_IRS_PE_STATUSR_V = 1 << 1;
export const GICV5_IRS_PE_STATUSR_IDLE = 1 << 0;
export const GICV5_IRS_IST_STATUSR_IDLE = 1 << 0;
// SPI selection
export const GICV5_IRS_SPI_SELR_ID_MASK = 0xffffff;
export const GICV5_IRS_SPI_DOMAINR_DOMAIN_NON_SECURE = 0b01;
export const GICV5_IRS_SPI_CFGR_TM = 1 << 0;
export const GICV5_IRS_PE_SELR_IAFFID_MASK = 0xffff;
export const GICV5_IRS_PE_CR0_DPS = 1 << 0;
// IST_BASER / IST_CFGR
export const GICV5_IRS_IST_BASER_ADDR_MASK = ((1n << 56n) - 1n) & ~0x3fn; // GENMASK_ULL(55, 6)
export const GICV5_IRS_IST_BASER_ADDR_SHIFT = 6n;
export const GICV5_IRS_IST_BASER_VALID = 1n;
export const GICV5_IRS_IST_CFGR_STRUCTURE = 1 << 16;
export const GICV5_IRS_IST_CFGR_ISTSZ_SHIFT = 7; // GENMASK(8, 7)
export const GICV5_IRS_IST_CFGR_L2SZ_SHIFT = 5; // GENMASK(6, 5)
export const GICV5_IRS_IST_CFGR_LPI_ID_BITS_MASK = 0x1f; // GENMASK(4, 0)
export const GICV5_IRS_IST_CFGR_ISTSZ_4 = 0b00;
export const GICV5_IRS_IST_CFGR_ISTSZ_8 = 0b01;
export const GICV5_IRS_IST_CFGR_ISTSZ_16 = 0b10;
export const GICV5_IRS_IST_CFGR_L2SZ_4K = 0b00;

// L2 IST entry as userspace sees it (vgic-v5-tables.c: GICV5_ISTL2E_*), 32 bits little-endian
export const GICV5_ISTL2E_PENDING = 1 << 0;
export const GICV5_ISTL2E_ACTIVE = 1 << 1;
export const GICV5_ISTL2E_HM = 1 << 2;
export const GICV5_ISTL2E_ENABLE = 1 << 3;
export const GICV5_ISTL2E_IRM = 1 << 4;
export const GICV5_ISTL2E_HWU_SHIFT = 9; // GENMASK(10, 9)
export const GICV5_ISTL2E_HWU_MASK = 0x3 << 9;
export const GICV5_ISTL2E_PRIORITY_SHIFT = 11; // GENMASK(15, 11)
export const GICV5_ISTL2E_IAFFID_SHIFT = 16; // GENMASK(31, 16)

// --- CPU interface system registers (arch/arm64/tools/sysreg, 7.2) ---------------------------------

const icc = (op1: number, crm: number, op2: number): number => KVM_DEV_ARM_VGIC_SYSREG(3, op1, 12, crm, op2);

export const ICC_PPI_HMR0_EL1 = icc(0, 10, 0);
export const ICC_PPI_HMR1_EL1 = icc(0, 10, 1);
export const ICC_IDR0_EL1 = icc(0, 10, 2);
export const ICC_HPPIR_EL1 = icc(0, 10, 3);
export const ICC_ICSR_EL1 = icc(0, 10, 4);
export const ICC_IAFFIDR_EL1 = icc(0, 10, 5);
export const ICC_PPI_ENABLER0_EL1 = icc(0, 10, 6);
export const ICC_PPI_ENABLER1_EL1 = icc(0, 10, 7);
export const ICC_PPI_CACTIVER0_EL1 = icc(0, 13, 0);
export const ICC_PPI_CACTIVER1_EL1 = icc(0, 13, 1);
export const ICC_PPI_SACTIVER0_EL1 = icc(0, 13, 2);
export const ICC_PPI_SACTIVER1_EL1 = icc(0, 13, 3);
export const ICC_PPI_CPENDR0_EL1 = icc(0, 13, 4);
export const ICC_PPI_CPENDR1_EL1 = icc(0, 13, 5);
export const ICC_PPI_SPENDR0_EL1 = icc(0, 13, 6);
export const ICC_PPI_SPENDR1_EL1 = icc(0, 13, 7);
/** ICC_PPI_PRIORITYR<n>_EL1, n = 0..15: CRm 14 (n < 8) or 15, op2 = n % 8. */
export function ICC_PPI_PRIORITYR_EL1(n: number): number {
  return icc(0, 14 + (n >> 3), n & 7);
}
export const ICC_APR_EL1 = icc(1, 0, 0);
export const ICC_CR0_EL1 = icc(1, 0, 1);
export const ICC_PCR_EL1 = icc(1, 0, 2);

export const ICC_CR0_EL1_EN = 1n;
export const ICC_PCR_EL1_PRIORITY_MASK = 0x1fn;
export const ICC_IDR0_EL1_PRI_BITS_SHIFT = 4n; // 7:4
export const ICC_IDR0_EL1_ID_BITS_16BITS = 0n;
export const ICC_IAFFIDR_EL1_IAFFID_MASK = 0xffffn;
export const ICC_HPPIR_EL1_HPPIV = 1n << 32n;
// ICC_ICSR_EL1 fields
export const ICC_ICSR_EL1_F = 1n << 0n;
export const ICC_ICSR_EL1_ENABLED = 1n << 1n;
export const ICC_ICSR_EL1_PENDING = 1n << 2n;
export const ICC_ICSR_EL1_IRM = 1n << 3n;
export const ICC_ICSR_EL1_ACTIVE = 1n << 4n;
export const ICC_ICSR_EL1_HM = 1n << 5n;
export const ICC_ICSR_EL1_PRIORITY_SHIFT = 11n; // 15:11
export const ICC_ICSR_EL1_IAFFID_SHIFT = 32n; // 47:32

// --- GIC/GICR system instructions (tools/testing/selftests/kvm/include/arm64/gic_v5.h) -------------
// sys_insn(1, 0, 12, CRm, op2), in the same Op0<<14 | Op1<<11 | CRn<<7 | CRm<<3 | Op2 encoding as
// the registers, so the vCPU loop dispatches them like system registers (GIC* as writes, GICR*
// as reads). Op0 = 1 keeps them apart from every ICC_* register (Op0 = 3).

const sysInsn = (crm: number, op2: number): number => KVM_DEV_ARM_VGIC_SYSREG(1, 0, 12, crm, op2);

export const GICV5_OP_GSB_SYS = sysInsn(0, 0);
export const GICV5_OP_GSB_ACK = sysInsn(0, 1);
export const GICV5_OP_GIC_CDDIS = sysInsn(1, 0);
export const GICV5_OP_GIC_CDEN = sysInsn(1, 1);
export const GICV5_OP_GIC_CDPRI = sysInsn(1, 2);
export const GICV5_OP_GIC_CDAFF = sysInsn(1, 3);
export const GICV5_OP_GIC_CDPEND = sysInsn(1, 4);
export const GICV5_OP_GIC_CDRCFG = sysInsn(1, 5);
export const GICV5_OP_GIC_CDEOI = sysInsn(1, 7);
export const GICV5_OP_GIC_CDDI = sysInsn(2, 0);
export const GICV5_OP_GIC_CDHM = sysInsn(2, 1);
export const GICV5_OP_GICR_CDIA = sysInsn(3, 0);
export const GICV5_OP_GICR_CDNMIA = sysInsn(3, 1);

export const GICV5_GIC_CDAFF_IAFFID_SHIFT = 32n; // 47:32
export const GICV5_GIC_CDAFF_IRM = 1n << 28n;
export const GICV5_GIC_CDHM_HM = 1n << 32n;
export const GICV5_GIC_CDPEND_PENDING = 1n << 32n;
export const GICV5_GIC_CDPRI_PRIORITY_SHIFT = 35n; // 39:35
export const GICV5_GICR_CDIA_VALID = 1n << 32n;
export const GICV5_GICR_CDIA_INTID_MASK = 0xffffffffn;

/** GICV5_IRQ_DEFAULT_PRI of the selftest library (0b10000). */
export const GICV5_IRQ_DEFAULT_PRI = 0b10000;

// --- guest physical layout of the selftests (gic_v5.h in the IRS series) ---------------------------

/** "GIC component base address is guest PA space" (IRS series gic_v5.h). */
export const GICV5_IRS_CONFIG_BASE_GPA = 0x8000000;
/** The selftests map the IRS at VA == IPA. */
export const GICV5_IRS_CONFIG_BASE_GVA = GICV5_IRS_CONFIG_BASE_GPA;
export const GICV5_IRS_SIZE = KVM_VGIC_V5_IRS_SIZE;

// GIC register offsets and fields with the kernel's names
// (include/linux/irqchip/arm-gic-v3.h, include/linux/irqchip/arm-gic.h).

// Distributor (shared v2/v3 layout)
export const GICD_CTLR = 0x0000;
export const GICD_TYPER = 0x0004;
export const GICD_IIDR = 0x0008;
export const GICD_TYPER2 = 0x000c;
export const GICD_STATUSR = 0x0010;
export const GICD_SETSPI_NSR = 0x0040;
export const GICD_CLRSPI_NSR = 0x0048;
export const GICD_SETSPI_SR = 0x0050;
export const GICD_CLRSPI_SR = 0x0058;
export const GICD_IGROUPR = 0x0080;
export const GICD_ISENABLER = 0x0100;
export const GICD_ICENABLER = 0x0180;
export const GICD_ISPENDR = 0x0200;
export const GICD_ICPENDR = 0x0280;
export const GICD_ISACTIVER = 0x0300;
export const GICD_ICACTIVER = 0x0380;
export const GICD_IPRIORITYR = 0x0400;
export const GICD_ITARGETSR = 0x0800;
export const GICD_ICFGR = 0x0c00;
export const GICD_IGRPMODR = 0x0d00;
export const GICD_NSACR = 0x0e00;
export const GICD_SGIR = 0x0f00;
export const GICD_CPENDSGIR = 0x0f10;
export const GICD_SPENDSGIR = 0x0f20;
export const GICD_IROUTER = 0x6000;
export const GICD_IDREGS = 0xffd0;
export const GICD_PIDR2 = 0xffe8;

export const GICD_CTLR_RWP = 1 << 31;
export const GICD_CTLR_nASSGIreq = 1 << 8;
export const GICD_CTLR_DS = 1 << 6;
export const GICD_CTLR_ARE_NS = 1 << 4;
export const GICD_CTLR_ENABLE_SS_G1 = 1 << 1;
export const GICD_CTLR_ENABLE_SS_G0 = 1 << 0;
export const GICD_CTLR_ENABLE_G1A = 1 << 1; // non-secure view
export const GICD_CTLR_ENABLE_G1 = 1 << 0;

export const GICD_TYPER_RSS = 1 << 26;
export const GICD_TYPER_LPIS = 1 << 17;
export const GICD_TYPER_MBIS = 1 << 16;
export const GICD_TYPER2_nASSGIcap = 1 << 8;

export const GICD_IIDR_IMPLEMENTER_SHIFT = 0;
export const GICD_IIDR_IMPLEMENTER_MASK = 0xfff;
export const GICD_IIDR_REVISION_SHIFT = 12;
export const GICD_IIDR_REVISION_MASK = 0xf << 12;
export const GICD_IIDR_VARIANT_SHIFT = 16;
export const GICD_IIDR_VARIANT_MASK = 0xf << 16;
export const GICD_IIDR_PRODUCT_ID_SHIFT = 24;
export const GICD_IIDR_PRODUCT_ID_MASK = 0xff << 24;

export const GIC_PIDR2_ARCH_GICv3 = 0x30;
export const GIC_PIDR2_ARCH_MASK = 0xf0;

// Redistributor RD_base frame
export const GICR_CTLR = GICD_CTLR;
export const GICR_IIDR = 0x0004;
export const GICR_TYPER = 0x0008;
export const GICR_STATUSR = GICD_STATUSR;
export const GICR_WAKER = 0x0014;
export const GICR_SETLPIR = 0x0040;
export const GICR_CLRLPIR = 0x0048;
export const GICR_PROPBASER = 0x0070;
export const GICR_PENDBASER = 0x0078;
export const GICR_INVLPIR = 0x00a0;
export const GICR_INVALLR = 0x00b0;
export const GICR_SYNCR = 0x00c0;
export const GICR_IDREGS = GICD_IDREGS;
export const GICR_PIDR2 = GICD_PIDR2;

export const GICR_CTLR_ENABLE_LPIS = 1 << 0;
export const GICR_CTLR_CES = 1 << 1;
export const GICR_CTLR_IR = 1 << 2;
export const GICR_CTLR_RWP = 1 << 3;

export const GICR_TYPER_PLPIS = 1 << 0;
export const GICR_TYPER_VLPIS = 1 << 1;
export const GICR_TYPER_DirectLPIS = 1 << 3;
export const GICR_TYPER_LAST = 1 << 4;

export const GICR_WAKER_ProcessorSleep = 1 << 1;
export const GICR_WAKER_ChildrenAsleep = 1 << 2;

// Redistributor SGI_base frame (offsets relative to SGI_base = RD_base + 64K)
export const SZ_64K = 0x10000;
export const GICR_SGI_OFFSET = SZ_64K;
export const GICR_IGROUPR0 = GICD_IGROUPR;
export const GICR_ISENABLER0 = GICD_ISENABLER;
export const GICR_ICENABLER0 = GICD_ICENABLER;
export const GICR_ISPENDR0 = GICD_ISPENDR;
export const GICR_ICPENDR0 = GICD_ICPENDR;
export const GICR_ISACTIVER0 = GICD_ISACTIVER;
export const GICR_ICACTIVER0 = GICD_ICACTIVER;
export const GICR_IPRIORITYR0 = GICD_IPRIORITYR;
export const GICR_ICFGR0 = GICD_ICFGR;
export const GICR_ICFGR1 = GICD_ICFGR + 4;
export const GICR_IGRPMODR0 = GICD_IGRPMODR;
export const GICR_NSACR = GICD_NSACR;

// GICv2 CPU interface (arm-gic.h)
export const GIC_CPU_CTRL = 0x00;
export const GIC_CPU_PRIMASK = 0x04;
export const GIC_CPU_BINPOINT = 0x08;
export const GIC_CPU_INTACK = 0x0c;
export const GIC_CPU_EOI = 0x10;
export const GIC_CPU_RUNNINGPRI = 0x14;
export const GIC_CPU_HIGHPRI = 0x18;
export const GIC_CPU_ALIAS_BINPOINT = 0x1c;
export const GIC_CPU_ACTIVEPRIO = 0xd0;
export const GIC_CPU_IDENT = 0xfc;
export const GIC_CPU_DEACTIVATE = 0x1000;
export const GICC_CTLR = GIC_CPU_CTRL;
export const GICC_PMR = GIC_CPU_PRIMASK;
export const GICC_BPR = GIC_CPU_BINPOINT;
export const GICC_ABPR = GIC_CPU_ALIAS_BINPOINT;
export const GICC_APR0 = GIC_CPU_ACTIVEPRIO;
export const GICC_IIDR = GIC_CPU_IDENT;

// Guest-physical layout used by the selftests (tools/testing/selftests/kvm/include/arm64/gic.h)
export const GITS_BASE_GPA = 0x8000000;
export const GICD_BASE_GPA = 0x8020000;
export const GICR_BASE_GPA = 0x8030000;
export const GICD_BASE_GVA = GICD_BASE_GPA;
export const GICR_BASE_GVA = GICR_BASE_GPA;
export const GITS_BASE_GVA = GITS_BASE_GPA;

/** GICD_IIDR value KVM reports: ProductID KVM, Implementer ARM, the given revision. */
export function gicdIidr(rev: number): number {
  return ((0x4b << GICD_IIDR_PRODUCT_ID_SHIFT) | (rev << GICD_IIDR_REVISION_SHIFT) | 0x43b) >>> 0;
}

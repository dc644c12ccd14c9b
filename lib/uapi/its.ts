// GICv3 ITS and LPI constants with the kernel's names (include/linux/irqchip/arm-gic-v3.h,
// include/uapi/linux/kvm.h: struct kvm_msi), and KVM's vITS limits (vgic-its.c).

// --- ITS control frame (ITS_base) and translation frame (ITS_base + 64K) ------------------------
export const GITS_CTLR = 0x0000;
export const GITS_IIDR = 0x0004;
export const GITS_TYPER = 0x0008;
export const GITS_CBASER = 0x0080;
export const GITS_CWRITER = 0x0088;
export const GITS_CREADR = 0x0090;
export const GITS_BASER = 0x0100;
export const GITS_IDREGS_BASE = 0xffd0;
export const GITS_PIDR0 = 0xffe0;
export const GITS_PIDR1 = 0xffe4;
export const GITS_PIDR2 = 0xffe8;
export const GITS_PIDR4 = 0xffd0;
export const GITS_CIDR0 = 0xfff0;
export const GITS_CIDR1 = 0xfff4;
export const GITS_CIDR2 = 0xfff8;
export const GITS_CIDR3 = 0xfffc;
export const GITS_TRANSLATER = 0x10040;

export const GITS_CTLR_ENABLE = 1 << 0;
export const GITS_CTLR_QUIESCENT = (1 << 31) >>> 0;

export const GITS_TYPER_PLPIS = 1n << 0n;
export const GITS_TYPER_VLPIS = 1n << 1n;
export const GITS_TYPER_ITT_ENTRY_SIZE_SHIFT = 4n;
export const GITS_TYPER_IDBITS_SHIFT = 8n;
export const GITS_TYPER_DEVBITS_SHIFT = 13n;
export const GITS_TYPER_PTA = 1n << 19n;
export const GITS_TYPER_CIDBITS_SHIFT = 32n;
export const GITS_TYPER_CIL = 1n << 36n;

export const GITS_IIDR_REV_SHIFT = 12;
export const GITS_IIDR_REV_MASK = 0xf << GITS_IIDR_REV_SHIFT;

export const GITS_CBASER_VALID = 1n << 63n;
export const GITS_CBASER_SHAREABILITY_SHIFT = 10n;
export const GITS_CBASER_INNER_CACHEABILITY_SHIFT = 59n;
export const GITS_CBASER_OUTER_CACHEABILITY_SHIFT = 53n;

export const GITS_BASER_NR_REGS = 8;
export const GITS_BASER_VALID = 1n << 63n;
export const GITS_BASER_INDIRECT = 1n << 62n;
export const GITS_BASER_INNER_CACHEABILITY_SHIFT = 59n;
export const GITS_BASER_OUTER_CACHEABILITY_SHIFT = 53n;
export const GITS_BASER_TYPE_SHIFT = 56n;
export const GITS_BASER_ENTRY_SIZE_SHIFT = 48n;
export const GITS_BASER_SHAREABILITY_SHIFT = 10n;
export const GITS_BASER_PAGE_SIZE_SHIFT = 8n;
export const GITS_BASER_PAGE_SIZE_4K = 0n << GITS_BASER_PAGE_SIZE_SHIFT;
export const GITS_BASER_PAGE_SIZE_16K = 1n << GITS_BASER_PAGE_SIZE_SHIFT;
export const GITS_BASER_PAGE_SIZE_64K = 2n << GITS_BASER_PAGE_SIZE_SHIFT;
export const GITS_BASER_PAGE_SIZE_MASK = 3n << GITS_BASER_PAGE_SIZE_SHIFT;
export const GITS_BASER_TYPE_NONE = 0;
export const GITS_BASER_TYPE_DEVICE = 1;
export const GITS_BASER_TYPE_VCPU = 2;
export const GITS_BASER_TYPE_COLLECTION = 4;

/** GITS_BASER_TYPE(r) */
export const gitsBaserType = (r: bigint): number => Number((r >> GITS_BASER_TYPE_SHIFT) & 7n);
/** GITS_BASER_ENTRY_SIZE(r): entry size in bytes. */
export const gitsBaserEntrySize = (r: bigint): number => Number((r >> GITS_BASER_ENTRY_SIZE_SHIFT) & 0x1fn) + 1;
/** GITS_BASER_NR_PAGES(r) */
export const gitsBaserNrPages = (r: bigint): number => Number(r & 0xffn) + 1;

// GIC_BASER_CACHEABILITY / SHAREABILITY field values
export const GIC_BASER_CACHE_nCnB = 0n;
export const GIC_BASER_CACHE_SameAsInner = 0n;
export const GIC_BASER_CACHE_nC = 1n;
export const GIC_BASER_CACHE_RaWt = 2n;
export const GIC_BASER_CACHE_RaWb = 3n;
export const GIC_BASER_CACHE_WaWt = 4n;
export const GIC_BASER_CACHE_WaWb = 5n;
export const GIC_BASER_CACHE_RaWaWt = 6n;
export const GIC_BASER_CACHE_RaWaWb = 7n;
export const GIC_BASER_NonShareable = 0n;
export const GIC_BASER_InnerShareable = 1n;
export const GIC_BASER_OuterShareable = 2n;

export const GITS_BASER_InnerShareable = GIC_BASER_InnerShareable << GITS_BASER_SHAREABILITY_SHIFT;
export const GITS_BASER_RaWaWb = GIC_BASER_CACHE_RaWaWb << GITS_BASER_INNER_CACHEABILITY_SHIFT;
export const GITS_CBASER_InnerShareable = GIC_BASER_InnerShareable << GITS_CBASER_SHAREABILITY_SHIFT;
export const GITS_CBASER_RaWaWb = GIC_BASER_CACHE_RaWaWb << GITS_CBASER_INNER_CACHEABILITY_SHIFT;

// --- redistributor LPI registers -------------------------------------------------------------------
export const GICR_PROPBASER_SHAREABILITY_SHIFT = 10n;
export const GICR_PROPBASER_INNER_CACHEABILITY_SHIFT = 7n;
export const GICR_PROPBASER_IDBITS_MASK = 0x1fn;
export const GICR_PROPBASER_InnerShareable = GIC_BASER_InnerShareable << GICR_PROPBASER_SHAREABILITY_SHIFT;
export const GICR_PROPBASER_RaWaWb = GIC_BASER_CACHE_RaWaWb << GICR_PROPBASER_INNER_CACHEABILITY_SHIFT;
export const GICR_PENDBASER_SHAREABILITY_SHIFT = 10n;
export const GICR_PENDBASER_INNER_CACHEABILITY_SHIFT = 7n;
export const GICR_PENDBASER_InnerShareable = GIC_BASER_InnerShareable << GICR_PENDBASER_SHAREABILITY_SHIFT;
export const GICR_PENDBASER_RaWaWb = GIC_BASER_CACHE_RaWaWb << GICR_PENDBASER_INNER_CACHEABILITY_SHIFT;
export const GICR_PENDBASER_PTZ = 1n << 62n;
/** GICR_PROPBASER_ADDRESS(x): bits [51:12]. */
export const gicrPropbaserAddress = (x: bigint): bigint => x & 0x000ffffffffff000n;
/** GICR_PENDBASER_ADDRESS(x): bits [51:16]. */
export const gicrPendbaserAddress = (x: bigint): bigint => x & 0x000fffffffff0000n;

// LPI configuration table byte
export const LPI_PROP_GROUP1 = 1 << 1;
export const LPI_PROP_ENABLED = 1 << 0;
export const LPI_PROP_DEFAULT_PRIO = 0xa0;
/** kvm-unit-tests lib/arm/asm/gic-v3.h */
export const LPI_PROP_DEFAULT = LPI_PROP_DEFAULT_PRIO | LPI_PROP_GROUP1 | LPI_PROP_ENABLED;
export const GIC_LPI_OFFSET = 8192;

// --- ITS commands -----------------------------------------------------------------------------------
export const GITS_CMD_MAPD = 0x08;
export const GITS_CMD_MAPC = 0x09;
export const GITS_CMD_MAPTI = 0x0a;
export const GITS_CMD_MAPI = 0x0b;
export const GITS_CMD_MOVI = 0x01;
export const GITS_CMD_DISCARD = 0x0f;
export const GITS_CMD_INV = 0x0c;
export const GITS_CMD_MOVALL = 0x0e;
export const GITS_CMD_INVALL = 0x0d;
export const GITS_CMD_INT = 0x03;
export const GITS_CMD_CLEAR = 0x04;
export const GITS_CMD_SYNC = 0x05;

// ITS command error numbers (the return values of KVM's command handlers)
export const E_ITS_MOVI_UNMAPPED_INTERRUPT = 0x010107;
export const E_ITS_MOVI_UNMAPPED_COLLECTION = 0x010109;
export const E_ITS_INT_UNMAPPED_INTERRUPT = 0x010307;
export const E_ITS_CLEAR_UNMAPPED_INTERRUPT = 0x010507;
export const E_ITS_MAPD_DEVICE_OOR = 0x010801;
export const E_ITS_MAPD_ITTSIZE_OOR = 0x010802;
export const E_ITS_MAPC_PROCNUM_OOR = 0x010902;
export const E_ITS_MAPC_COLLECTION_OOR = 0x010903;
export const E_ITS_MAPTI_UNMAPPED_DEVICE = 0x010a04;
export const E_ITS_MAPTI_ID_OOR = 0x010a05;
export const E_ITS_MAPTI_PHYSICALID_OOR = 0x010a06;
export const E_ITS_INV_UNMAPPED_INTERRUPT = 0x010c07;
export const E_ITS_INVALL_UNMAPPED_COLLECTION = 0x010d09;
export const E_ITS_MOVALL_PROCNUM_OOR = 0x010e01;
export const E_ITS_DISCARD_UNMAPPED_INTERRUPT = 0x010f07;

/** 32-byte command slots; the queue is (CBASER.Size + 1) 4 KiB pages. */
export const ITS_CMD_SIZE = 32;

// --- KVM_SIGNAL_MSI (include/uapi/linux/kvm.h; KVM_MSI_VALID_DEVID is in kvm-irq.ts) ------------

/** struct kvm_msi (also what kvm_set_msi() builds from an MSI routing entry: kvm_populate_msi) */
export interface KvmMsi {
  address_lo: number;
  address_hi: number;
  data: number;
  flags: number;
  devid: number;
}

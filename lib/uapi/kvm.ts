// KVM uapi constants for the arm64 vGIC, with the kernel's names
// (arch/arm64/include/uapi/asm/kvm.h, include/uapi/linux/kvm.h, include/kvm/arm_vgic.h).

// enum kvm_device_type (include/uapi/linux/kvm.h)
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
export const KVM_DEV_TYPE_ARM_VGIC_V5 = 16;

export const KVM_CREATE_DEVICE_TEST = 1;

// Device attribute groups (asm/kvm.h)
export const KVM_DEV_ARM_VGIC_GRP_ADDR = 0;
export const KVM_DEV_ARM_VGIC_GRP_DIST_REGS = 1;
export const KVM_DEV_ARM_VGIC_GRP_CPU_REGS = 2;
export const KVM_DEV_ARM_VGIC_GRP_NR_IRQS = 3;
export const KVM_DEV_ARM_VGIC_GRP_CTRL = 4;
export const KVM_DEV_ARM_VGIC_GRP_REDIST_REGS = 5;
export const KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS = 6;
export const KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO = 7;
export const KVM_DEV_ARM_VGIC_GRP_ITS_REGS = 8;
export const KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ = 9;

export const KVM_DEV_ARM_VGIC_CTRL_INIT = 0;
export const KVM_DEV_ARM_ITS_SAVE_TABLES = 1;
export const KVM_DEV_ARM_ITS_RESTORE_TABLES = 2;
export const KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES = 3;
export const KVM_DEV_ARM_ITS_CTRL_RESET = 4;

// Address types for GRP_ADDR
export const KVM_VGIC_V2_ADDR_TYPE_DIST = 0;
export const KVM_VGIC_V2_ADDR_TYPE_CPU = 1;
export const KVM_VGIC_V3_ADDR_TYPE_DIST = 2;
export const KVM_VGIC_V3_ADDR_TYPE_REDIST = 3;
export const KVM_VGIC_ITS_ADDR_TYPE = 4;
export const KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION = 5;

export const KVM_VGIC_V2_DIST_SIZE = 0x1000;
export const KVM_VGIC_V2_CPU_SIZE = 0x2000;
export const KVM_VGIC_V3_DIST_SIZE = 0x10000;
export const KVM_VGIC_V3_REDIST_SIZE = 0x20000;
export const KVM_VGIC_V3_ITS_SIZE = 0x20000;

// Register attribute encoding
export const KVM_DEV_ARM_VGIC_OFFSET_SHIFT = 0n;
export const KVM_DEV_ARM_VGIC_OFFSET_MASK = 0xffffffffn;
export const KVM_DEV_ARM_VGIC_CPUID_SHIFT = 32n;
export const KVM_DEV_ARM_VGIC_CPUID_MASK = 0xffn << 32n;
export const KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT = 32n;
export const KVM_DEV_ARM_VGIC_V3_MPIDR_MASK = 0xffffffffn << 32n;
export const KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK = 0xffffn;
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT = 10n;
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_MASK = 0x3fffffn << 10n;
export const KVM_DEV_ARM_VGIC_LINE_LEVEL_INTID_MASK = 0x3ffn;
export const VGIC_LEVEL_INFO_LINE_LEVEL = 0;

// KVM_VGIC_V3_REDIST_REGION attribute value layout (vgic.h)
export const KVM_VGIC_V3_RDIST_INDEX_MASK = 0xfffn;
export const KVM_VGIC_V3_RDIST_FLAGS_SHIFT = 12n;
export const KVM_VGIC_V3_RDIST_FLAGS_MASK = 0xfn << 12n;
export const KVM_VGIC_V3_RDIST_BASE_MASK = ((1n << 52n) - 1n) & ~0xffffn; // bits [51:16]
export const KVM_VGIC_V3_RDIST_COUNT_SHIFT = 52n;

/** Sysreg attribute: Op0<<14 | Op1<<11 | CRn<<7 | CRm<<3 | Op2 (ARM64_SYS_REG encoding, low 16 bits). */
export function KVM_DEV_ARM_VGIC_SYSREG(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

// KVM_IRQ_LINE irq field (asm/kvm.h)
export const KVM_ARM_IRQ_VCPU2_SHIFT = 28;
export const KVM_ARM_IRQ_VCPU2_MASK = 0xf;
export const KVM_ARM_IRQ_TYPE_SHIFT = 24;
export const KVM_ARM_IRQ_TYPE_MASK = 0xf;
export const KVM_ARM_IRQ_VCPU_SHIFT = 16;
export const KVM_ARM_IRQ_VCPU_MASK = 0xff;
export const KVM_ARM_IRQ_NUM_SHIFT = 0;
export const KVM_ARM_IRQ_NUM_MASK = 0xffff;
export const KVM_ARM_IRQ_TYPE_CPU = 0;
export const KVM_ARM_IRQ_TYPE_SPI = 1;
export const KVM_ARM_IRQ_TYPE_PPI = 2;
export const KVM_ARM_IRQ_CPU_IRQ = 0;
export const KVM_ARM_IRQ_CPU_FIQ = 1;
export const KVM_ARM_IRQ_GIC_MAX = 127;

// include/kvm/arm_vgic.h
export const VGIC_V3_MAX_CPUS = 512;
export const VGIC_V2_MAX_CPUS = 8;
export const VGIC_NR_IRQS_LEGACY = 256;
export const VGIC_NR_SGIS = 16;
export const VGIC_NR_PPIS = 16;
export const VGIC_NR_PRIVATE_IRQS = VGIC_NR_SGIS + VGIC_NR_PPIS;
export const VGIC_MAX_SPI = 1019;
export const VGIC_MAX_RESERVED = 1023;
export const VGIC_MIN_LPI = 8192;
export const KVM_IRQCHIP_NUM_PINS = VGIC_MAX_SPI - 31;
export const KVM_VGIC_IMP_REV_1 = 1;
export const KVM_VGIC_IMP_REV_2 = 2;
export const KVM_VGIC_IMP_REV_3 = 3;
export const KVM_VGIC_IMP_REV_LATEST = KVM_VGIC_IMP_REV_3;

// vgic.h
export const VGIC_ADDR_UNDEF = 0xffffffffffffffffn; // (phys_addr_t)-1
export const PRODUCT_ID_KVM = 0x4b;
export const IMPLEMENTER_ARM = 0x43b;
export const VGIC_PRI_BITS = 5;
export const INTERRUPT_ID_BITS_SPIS = 10;
export const INTERRUPT_ID_BITS_ITS = 16;

// Exit reasons used by the harness (include/uapi/linux/kvm.h)
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_SYSTEM_EVENT = 24;

// KVM uapi constants for capabilities, GSI routing, irqfd and the vCPU timer attributes, with the
// kernel's names (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h,
// include/linux/kvm_host.h, include/kvm/arm_vgic.h). Kept apart from kvm.ts so the vGIC constants
// and these grow independently.

// KVM_CHECK_EXTENSION capability numbers (include/uapi/linux/kvm.h)
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_MP_STATE = 14;
export const KVM_CAP_SYNC_MMU = 16;
export const KVM_CAP_DESTROY_MEMORY_REGION_WORKS = 21;
export const KVM_CAP_SET_GUEST_DEBUG = 23;
export const KVM_CAP_IRQ_ROUTING = 25;
export const KVM_CAP_JOIN_MEMORY_REGIONS_WORKS = 30;
export const KVM_CAP_IRQFD = 32;
export const KVM_CAP_IOEVENTFD = 36;
export const KVM_CAP_INTERNAL_ERROR_DATA = 40;
export const KVM_CAP_VCPU_EVENTS = 41;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_ONE_REG = 70;
export const KVM_CAP_SIGNAL_MSI = 77;
export const KVM_CAP_READONLY_MEM = 81;
export const KVM_CAP_IRQFD_RESAMPLE = 82;
export const KVM_CAP_ARM_PSCI = 87;
export const KVM_CAP_ARM_SET_DEVICE_ADDR = 88;
export const KVM_CAP_DEVICE_CTRL = 89;
export const KVM_CAP_ARM_EL1_32BIT = 93;
export const KVM_CAP_ENABLE_CAP_VM = 98;
export const KVM_CAP_ARM_PSCI_0_2 = 102;
export const KVM_CAP_CHECK_EXTENSION_VM = 105;
export const KVM_CAP_IOEVENTFD_ANY_LENGTH = 122;
export const KVM_CAP_ARM_PMU_V3 = 126;
export const KVM_CAP_VCPU_ATTRIBUTES = 127;
export const KVM_CAP_MAX_VCPU_ID = 128;
export const KVM_CAP_MSI_DEVID = 131;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_ARM_USER_IRQ = 144;
export const KVM_CAP_ARM_VM_IPA_SIZE = 165;
export const KVM_CAP_ARM_IRQ_LINE_LAYOUT_2 = 174;
export const KVM_CAP_ARM_NISV_TO_USER = 177;
export const KVM_CAP_ARM_INJECT_EXT_DABT = 178;
export const KVM_CAP_HALT_POLL = 182;
export const KVM_CAP_PTP_KVM = 198;
export const KVM_CAP_BINARY_STATS_FD = 203;
export const KVM_CAP_ARM_MTE = 205;
export const KVM_CAP_SYSTEM_EVENT_DATA = 215;
export const KVM_CAP_ARM_SYSTEM_SUSPEND = 216;
export const KVM_CAP_COUNTER_OFFSET = 227;
export const KVM_CAP_USER_MEMORY2 = 231;
export const KVM_CAP_ARM_WRITABLE_IMP_ID_REGS = 239;
export const KVM_CAP_ARM_EL2 = 240;
export const KVM_CAP_ARM_EL2_E2H0 = 241;
export const KVM_CAP_ARM_SEA_TO_USER = 245;

// GSI routing (include/uapi/linux/kvm.h, include/linux/kvm_host.h, arm64 asm/kvm.h)
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
export const KVM_IRQ_ROUTING_MSI = 2;
export const KVM_IRQ_ROUTING_S390_ADAPTER = 3;
export const KVM_IRQ_ROUTING_HV_SINT = 4;
export const KVM_IRQ_ROUTING_XEN_EVTCHN = 5;
/** kvm_host.h: the largest GSI + 1 and the most entries one KVM_SET_GSI_ROUTING may carry. */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** arm64 asm/kvm.h: one irqchip (the vGIC). */
export const KVM_NR_IRQCHIPS = 1;
/** KVM_MSI_VALID_DEVID: the only flag an MSI routing entry (or KVM_SIGNAL_MSI) may carry. */
export const KVM_MSI_VALID_DEVID = 1 << 0;

// KVM_IRQFD flags
export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;
export const KVM_IRQFD_FLAG_RESAMPLE = 1 << 1;

// vCPU device attributes (arm64 asm/kvm.h)
export const KVM_ARM_VCPU_PMU_V3_CTRL = 0;
export const KVM_ARM_VCPU_TIMER_CTRL = 1;
export const KVM_ARM_VCPU_TIMER_IRQ_VTIMER = 0;
export const KVM_ARM_VCPU_TIMER_IRQ_PTIMER = 1;
export const KVM_ARM_VCPU_TIMER_IRQ_HVTIMER = 2;
export const KVM_ARM_VCPU_TIMER_IRQ_HPTIMER = 3;
export const KVM_ARM_VCPU_PVTIME_CTRL = 2;

// Generic timer control bits (CNT{V,P}_CTL_EL0)
export const ARCH_TIMER_CTRL_ENABLE = 1 << 0;
export const ARCH_TIMER_CTRL_IT_MASK = 1 << 1;
export const ARCH_TIMER_CTRL_IT_STAT = 1 << 2;
export const CTL_ENABLE = ARCH_TIMER_CTRL_ENABLE;
export const CTL_IMASK = ARCH_TIMER_CTRL_IT_MASK;
export const CTL_ISTATUS = ARCH_TIMER_CTRL_IT_STAT;

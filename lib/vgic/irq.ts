// Per-interrupt state as KVM keeps it in struct vgic_irq (include/kvm/arm_vgic.h).

export const enum IrqConfig {
  Edge = 0, // VGIC_CONFIG_EDGE: the zeroed default, so SPIs reset edge-triggered
  Level = 1,
}

export class VgicIrq {
  readonly intid: number;
  enabled = false;
  /** Software pending state (ISPENDR / edge injection). */
  pendingLatch = false;
  /** Input line level (level-triggered injection). */
  lineLevel = false;
  active = false;
  /** Only the top VGIC_PRI_BITS bits are kept (mask 0xF8 for 5 bits). */
  priority = 0;
  config: IrqConfig = IrqConfig.Edge;
  /** 0 = Group 0, 1 = Group 1. */
  group = 0;
  /** GICv2 ITARGETSR byte. */
  targets = 0;
  /** GICv3 IROUTER affinity (Aff2:Aff1:Aff0 as bits 23:0). */
  mpidr = 0;
  /** Index of the vCPU this IRQ is routed to, or -1 for none (vgic_irq.target_vcpu). */
  targetVcpu = -1;
  /** GICv2 SGI sources: bitmap of sending vCPU indices (vgic_irq.source). */
  source = 0;
  /** GICv2 SGI: the source whose activation is in flight (vgic_irq.active_source). */
  activeSource = 0;
  /** Hardware-mapped (timer) interrupt. */
  hw = false;
  /** An in-kernel owner (e.g. the arch timer) that userspace injection must not override. */
  owner: string | null = null;
  /** On a vCPU's ap_list (irq->vcpu != NULL): see ap-list.ts. */
  queued = false;

  constructor(intid: number) {
    this.intid = intid;
  }

  /** irq_is_pending(): the latch for edge; latch or line level for level. */
  isPending(): boolean {
    return this.pendingLatch || (this.config === IrqConfig.Level && this.lineLevel);
  }
}

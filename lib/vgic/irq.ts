// Per-interrupt state as KVM keeps it in struct vgic_irq (include/kvm/arm_vgic.h).

export const enum IrqConfig {
  Edge = 0, // VGIC_CONFIG_EDGE: the zeroed default, so SPIs reset edge-triggered
  Level = 1,
}

/**
 * A vCPU's ap_list (vgic.c: vgic_cpu.ap_list_head): the interrupts KVM has queued for it, the
 * only ones that reach its list registers, so the only ones it can be signalled, acknowledge or
 * be woken by. The CPU interface (cpuif.ts) looks at nothing else, so the cost of delivering an
 * interrupt is the length of this list, not nr_irqs.
 *
 * Membership follows KVM's rules, not the interrupt's state (ap-list.ts): an interrupt joins
 * only when something calls queueIrq() (vgic_queue_irq_unlock: where KVM makes it pending,
 * enabled or active) and vgic_target_oracle() names a vCPU; it leaves only when that vCPU prunes
 * its list at an exit (vgic_prune_ap_list: the oracle names nobody, or moves it to another vCPU).
 * So the list may hold interrupts that are no longer deliverable (until the next exit); an
 * interrupt that becomes deliverable without a queueIrq() call (the distributor re-enabled after
 * a prune) is on no list, and a retargeted one stays on its old vCPU's list until that vCPU
 * prunes it: real KVM delivers neither in the meantime.
 */
export class ApList {
  readonly items: VgicIrq[] = [];

  /** The vCPU (index) whose list this is. */
  constructor(readonly vcpuIdx: number) {}

  get length(): number {
    return this.items.length;
  }

  add(irq: VgicIrq): void {
    irq.list = this;
    irq.listIndex = this.items.length;
    this.items.push(irq);
  }

  /** O(1) removal: the last element takes the removed one's slot. */
  remove(irq: VgicIrq): void {
    const i = irq.listIndex;
    const last = this.items.pop()!;
    if (last !== irq) {
      this.items[i] = last;
      last.listIndex = i;
    }
    irq.list = null;
    irq.listIndex = -1;
  }
}

export class VgicIrq {
  readonly intid: number;
  enabled = false;
  /** Only the top VGIC_PRI_BITS bits are kept (mask 0xF8 for 5 bits). */
  priority = 0;
  config: IrqConfig = IrqConfig.Edge;
  /** 0 = Group 0, 1 = Group 1. */
  group = 0;
  /** GICv2 ITARGETSR byte. */
  targets = 0;
  /** GICv3 IROUTER affinity (Aff2:Aff1:Aff0 as bits 23:0). */
  mpidr = 0;
  /** GICv2 SGI sources: bitmap of sending vCPU indices (vgic_irq.source). */
  source = 0;
  /** GICv2 SGI: the source whose activation is in flight (vgic_irq.active_source). */
  activeSource = 0;
  /** Hardware-mapped (timer) interrupt. */
  hw = false;
  /** An in-kernel owner (e.g. the arch timer) that userspace injection must not override. */
  owner: string | null = null;
  /**
   * For a mapped level interrupt (hw and irq_ops.get_input_level: the vtimer), the device's line
   * as a guest read of ISPENDR sees it (vgic_irq_is_mapped_level / vgic_get_phys_line_level).
   */
  inputLevel: (() => boolean) | null = null;
  /** Software pending state (ISPENDR / edge injection). */
  pendingLatch = false;
  /** Input line level (level-triggered injection). */
  lineLevel = false;
  active = false;
  /** Index of the vCPU this IRQ is routed to, or -1 for none (vgic_irq.target_vcpu). */
  targetVcpu = -1;
  /** The ap_list this IRQ is on (irq->vcpu in KVM) and its index there; null / -1 when on none (kept by ApList). */
  list: ApList | null = null;
  listIndex = -1;

  constructor(intid: number) {
    this.intid = intid;
  }

  /** Told when the IRQ has left its list (LPIs: the ap_list drops its reference, lpi.ts). */
  unlisted(): void {}

  /** irq_is_pending(): the latch for edge; latch or line level for level. */
  isPending(): boolean {
    return this.pendingLatch || (this.config === IrqConfig.Level && this.lineLevel);
  }
}

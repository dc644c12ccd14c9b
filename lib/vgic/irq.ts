// Per-interrupt state as KVM keeps it in struct vgic_irq (include/kvm/arm_vgic.h).

export const enum IrqConfig {
  Edge = 0, // VGIC_CONFIG_EDGE: the zeroed default, so SPIs reset edge-triggered
  Level = 1,
}

/**
 * The interrupts one vCPU must look at when it decides what to signal, acknowledge or wake up for:
 * every interrupt targeting it that is pending (latch or line) or active. This is the model's
 * ap_list (vgic.c: vgic_cpu.ap_list_head), kept up to date by the VgicIrq setters below, so the
 * cost of delivering one interrupt does not depend on nr_irqs.
 *
 * Interface for other interrupt sources (LPIs, GICv5): an interrupt joins delivery by being a
 * VgicIrq attached to an IrqHome (`irq.attach(home)`) whose candidatesOf(targetVcpu) names the
 * target vCPU's list; from then on writes to pendingLatch, lineLevel, active and targetVcpu move
 * it in and out of the right list. Nothing else has to be called. Membership is a superset
 * (disabled or edge-configured-with-line-high interrupts stay listed): the CPU interface filters.
 */
export class CandidateList {
  readonly items: VgicIrq[] = [];

  get length(): number {
    return this.items.length;
  }

  add(irq: VgicIrq): void {
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
    irq.listIndex = -1;
  }
}

/**
 * Resolves a target vCPU index to its candidate list (the VgicDist for SGIs, PPIs and SPIs; the
 * VM's LPI home in lpi.ts for LPIs).
 */
export interface IrqHome {
  candidatesOf(vcpuIdx: number): CandidateList | null;
  /** Told when the IRQ has left its list and joined none (LPIs: the ap_list drops its reference). */
  unlisted?(irq: VgicIrq): void;
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
  /** The candidate list this IRQ is on, and its index there (-1 when on none). */
  list: CandidateList | null = null;
  listIndex = -1;
  private home: IrqHome | null = null;
  private latch = false;
  private line = false;
  private target = -1;
  private act = false;

  constructor(intid: number) {
    this.intid = intid;
  }

  /** Software pending state (ISPENDR / edge injection). */
  get pendingLatch(): boolean {
    return this.latch;
  }
  set pendingLatch(v: boolean) {
    if (v === this.latch) return;
    this.latch = v;
    this.track();
  }

  /** Input line level (level-triggered injection). */
  get lineLevel(): boolean {
    return this.line;
  }
  set lineLevel(v: boolean) {
    if (v === this.line) return;
    this.line = v;
    this.track();
  }

  get active(): boolean {
    return this.act;
  }
  set active(v: boolean) {
    if (v === this.act) return;
    this.act = v;
    this.track();
  }

  /** Index of the vCPU this IRQ is routed to, or -1 for none (vgic_irq.target_vcpu). */
  get targetVcpu(): number {
    return this.target;
  }
  set targetVcpu(v: number) {
    if (v === this.target) return;
    this.target = v;
    this.track();
  }

  /** Join delivery: from now on the IRQ keeps itself on its target vCPU's candidate list. */
  attach(home: IrqHome): void {
    this.home = home;
    this.track();
  }

  /** irq_is_pending(): the latch for edge; latch or line level for level. */
  isPending(): boolean {
    return this.latch || (this.config === IrqConfig.Level && this.line);
  }

  private track(): void {
    const home = this.home;
    const want = (this.latch || this.line || this.act) && home ? home.candidatesOf(this.target) : null;
    const had = this.list;
    if (want === had) return;
    if (had) had.remove(this);
    if (want) want.add(this);
    this.list = want;
    if (had && !want && home!.unlisted) home!.unlisted(this);
  }
}
